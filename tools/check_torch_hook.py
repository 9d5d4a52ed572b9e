"""Run the demo model in PyTorch with the torch hook attached (greedy CFG generation, full cache), write a
heatkv-stats/1 shard and, optionally, compare it with a TypeScript calibration file of the same prompt.

    /usr/bin/python3 tools/check_torch_hook.py --class 0 --seed 1 --out-dir /tmp/hook \
        [--ts /tmp/ts/attention.parquet] [--weights checkpoint|onnx|trained] [--cfg 3] [--top-k 1]

Weights (--weights):
  checkpoint (default) train/checkpoint.pt, written by train/export.py together with data/model/*.onnx: the
           same weights the TS runtime runs; checked against data/model/fixture.json before use.
  onnx     the exact weights the TS runtime runs: VAR parameters read from data/model/step.onnx
           (named initializers + the transposed MatMul constants, matched to their bias through the graph)
           and the VQ codebook/phi from vq_update.onnx; needs the `onnx` Python package. Checked against
           data/model/fixture.json (one step's logits) before use.
  trained  train/train.py load_trained("var"/"vqvae") (train/runs/*.pt or train/checkpoint.pt). Matches
           the TS runtime only when data/model/*.onnx were exported from those same weights (not while a
           training run is rewriting train/runs/).
Prints one JSON line: shard path, rows, tokens, weights, and with --ts the max |mass_ts - mass_torch| over the
rows joined on (branch, layer, head, target_scale, source_scale) (computed by DuckDB through node).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "train"))
from torch_hook import ScaleStatsRecorder, attach_demo, detach  # noqa: E402
from models import CONFIG, VAR, MultiScaleVQVAE  # noqa: E402

MODEL_DIR = os.path.join(ROOT, "data", "model")


def onnx_var_state(path):
    """VAR state_dict from step.onnx: named initializers (and Identity aliases of them) as they are; every MatMul whose weight is an
    unnamed initializer gets its name from the bias of the Add that consumes it (X.bias -> X.weight, transposed)."""
    import onnx
    from onnx import numpy_helper
    g = onnx.load(path).graph
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for node in g.node:  # the exporter dedups identical parameters: var.blocks.5.ada.weight = Identity(blocks.0's)
        if node.op_type == "Identity" and node.input[0] in init:
            init[node.output[0]] = init[node.input[0]]
    consumers = {}
    for node in g.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    state = {k[len("var."):]: torch.from_numpy(v.copy()) for k, v in init.items() if k.startswith("var.")}
    for node in g.node:
        if node.op_type != "MatMul" or node.input[1] not in init or node.input[1].startswith("var."):
            continue
        bias = [i for c in consumers.get(node.output[0], []) if c.op_type == "Add" for i in c.input
                if i.startswith("var.") and i.endswith(".bias")]
        if len(bias) != 1:
            raise RuntimeError(f"step.onnx: cannot name MatMul weight {node.input[1]} (no unique bias Add)")
        state[bias[0][len("var."):-len(".bias")] + ".weight"] = torch.from_numpy(init[node.input[1]].T.copy())
    return state


def load_onnx_weights(model_dir):
    import onnx
    from onnx import numpy_helper
    var = VAR()
    missing, unexpected = var.load_state_dict(onnx_var_state(os.path.join(model_dir, "step.onnx")), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"step.onnx -> VAR: missing {missing}, unexpected {unexpected}")
    vq = MultiScaleVQVAE()  # only codebook + phi (+ the fixed resampling matrices) matter for generation
    init = {i.name: numpy_helper.to_array(i) for i in onnx.load(os.path.join(model_dir, "vq_update.onnx")).graph.initializer}
    with torch.no_grad():
        vq.codebook.weight.copy_(torch.from_numpy(init["vq.codebook.weight"].copy()))
        vq.phi.weight.copy_(torch.from_numpy(init["vq.phi.weight"].copy()))
        vq.phi.bias.copy_(torch.from_numpy(init["vq.phi.bias"].copy()))
        for i in range(vq.K):
            u = vq.up(i)
            if not np.allclose(init["up_stack"][i][:, :u.shape[1]], u.numpy(), atol=1e-6):
                raise RuntimeError(f"vq_update.onnx up_stack[{i}] differs from models.resample_matrices")
    return var.eval(), vq.eval()


def check_fixture(var, model_dir):
    """One step of the fixture (uneven per-head caches) must reproduce the exported logits."""
    p = os.path.join(model_dir, "fixture.json")
    if not os.path.exists(p):
        return None
    fx = json.load(open(p))["step"]
    Lyr, H, d, C = CONFIG["num_layers"], CONFIG["num_heads"], CONFIG["head_dim"], CONFIG["codebook_dim"]
    past = [torch.tensor(v, dtype=torch.float32).view(2, -1, d) for v in fx["past"]]
    n = Lyr * H
    pk = [past[l * H:(l + 1) * H] for l in range(Lyr)]
    pv = [past[n + l * H:n + (l + 1) * H] for l in range(Lyr)]
    x_in = torch.tensor(fx["x_in"]).view(2, -1, C)
    with torch.no_grad():
        logits = var.step(x_in, torch.tensor(fx["labels"]), torch.tensor(fx["pos_idx"]), pk, pv)[0]
    return float((logits.flatten() - torch.tensor(fx["logits"])).abs().max())


def compare_with_ts(ts_file, shard):
    """max |mass_ts - mass_torch| via DuckDB in node (no Parquet reader in this Python)."""
    script = """
import { DuckDBInstance } from "@duckdb/node-api";
const [ts, pt] = process.argv.slice(1);
const db = await DuckDBInstance.create(":memory:"); const c = await db.connect();
const q = (s) => s.replaceAll("'", "''");
const r = (await c.runAndReadAll(`SELECT count(*) AS n, max(abs(a.mass - b.mass)) AS err,
  (SELECT count(*) FROM read_parquet('${q(ts)}')) AS nts, (SELECT count(*) FROM read_parquet('${q(pt)}')) AS npt
  FROM read_parquet('${q(ts)}') a JOIN read_parquet('${q(pt)}') b
  USING (prompt, branch, layer, head, target_scale, source_scale)`)).getRowObjectsJS()[0];
console.log(JSON.stringify({ joined: Number(r.n), ts_rows: Number(r.nts), torch_rows: Number(r.npt), max_abs_err: r.err }));
"""
    out = subprocess.run(["node", "--input-type=module", "-e", script, ts_file, shard], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--class", dest="cls", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cfg", type=float, default=3.0)
    ap.add_argument("--top-k", type=int, default=1)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--name", default=None, help="shard file name (default stats-c<class>_s<seed>-<settings>.parquet)")
    ap.add_argument("--weights", choices=["checkpoint", "onnx", "trained"], default="checkpoint")
    ap.add_argument("--model-dir", default=MODEL_DIR)
    ap.add_argument("--ts", default=None, help="TS calibration Parquet of the same prompt to compare with")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--plain", action="store_true", help="PLAIN-encode the string columns too (no dictionary)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.top_k != 1:
        print("warning: only greedy sampling (--top-k 1) reproduces the TS runtime's tokens", file=sys.stderr)

    meta = json.load(open(os.path.join(args.model_dir, "config.json")))
    fixture_err = None
    if args.weights in ("onnx", "checkpoint"):
        if args.weights == "onnx":
            var, vq = load_onnx_weights(args.model_dir)
        else:
            ck = torch.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train", "checkpoint.pt"))
            var, vq = VAR(), MultiScaleVQVAE()
            var.load_state_dict(ck["var"]["model"])
            vq.load_state_dict(ck["vqvae"]["model"])
            var, vq = var.eval(), vq.eval()
        fixture_err = check_fixture(var, args.model_dir)
        if fixture_err is not None and fixture_err > 1e-3:
            raise SystemExit(f"{args.weights} weights do not reproduce fixture.json (max logit error {fixture_err})")
    else:
        from train import load_trained
        var, vq = load_trained("var"), load_trained("vqvae")
    from export import generate

    rec = ScaleStatsRecorder(CONFIG["patch_nums"], CONFIG["num_layers"], CONFIG["num_heads"], meta["config_hash"],
                             meta["model_id"], meta["classes"], args.cfg, args.top_k, args.top_p, args.temperature)
    handles = attach_demo(var, rec)
    g = torch.Generator().manual_seed(args.seed)
    rec.begin_prompt(args.cls, args.seed)
    _, toks = generate(var, vq, torch.tensor([args.cls]), args.cfg, g, top_k=args.top_k, top_p=args.top_p)
    rec.end_prompt()
    detach(handles)
    shard = rec.write_shard(args.out_dir, args.name, dictionary=not args.plain)[0]  # one prompt: one shard
    res = dict(shard=shard, rows=len(rec.columns()["mass"]), weights=args.weights, fixture_logit_err=fixture_err,
               tokens=[t.flatten().tolist() for t in toks])
    fx_path = os.path.join(args.model_dir, "fixture.json")
    if args.top_k == 1 and os.path.exists(fx_path):
        greedy = json.load(open(fx_path)).get("greedy", {})
        if greedy.get("class_index") == args.cls and greedy.get("cfg") == args.cfg:
            res["fixture_tokens_match"] = res["tokens"] == greedy.get("tokens")
    if args.ts:
        res["compare"] = compare_with_ts(args.ts, shard)
    print(json.dumps(res))


if __name__ == "__main__":
    main()

"""Export the trained demo model: ONNX graphs, config.json, a PyTorch fixture for the TS runtime tests,
the per-class sample grid, and the shipped checkpoint.

    /usr/bin/python3 train/export.py [--out data/model]

Graphs (opset 17, torch.onnx.export(dynamo=False)):
- step.onnx       one scale of the transformer for a batch (cond + uncond rows) against a compact cache:
                  inputs  x_in [B,n,Cvae] f32, labels [B] i64, pos_idx [n] i64,
                          past_k_L{l}_H{h}, past_v_L{l}_H{h} [B,P_lh,d] f32 (every P_lh independent, may be 0)
                  outputs logits [B,n,V], present_k_L{l}, present_v_L{l} [B,H,n,d],
                          attn_L{l}_H{h} [B,P_lh+n] (attention mass on each key, the P_lh past ones then the n
                          current ones, summed over the scale's queries; never zero-sized, which WebGPU needs)
- vq_update.onnx  next-scale residual update: f_hat [B,Cvae,L,L], idx [B,n_t] i64, scale [1] i64
                  -> f_hat_next [B,Cvae,L,L], next_x [B,L*L,Cvae]: the first n_{t+1} rows are the next
                  scale's input (zero padding after; a fixed shape keeps int64 arithmetic out of the graph)
- vq_decode.onnx  f_hat [B,Cvae,L,L] -> image [B,3,64,64] in [0,1]
- classifier.onnx image [B,3,64,64] in [0,1] -> logits [B,classes], features [B,F]
"""
import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import build  # noqa: E402
from models import CONFIG, derived  # noqa: E402
from train import RUNS, SHIPPED, atomic_save, classifier_accuracy, heldout_var_loss, load_trained, to_tensor, tokens  # noqa: E402

OPSET = 17


def weights_hash(out_dir):
    """sha256 (16 hex) of the generation graphs: statistics and sweeps are tied to these exact weights."""
    h = hashlib.sha256()
    for f in ("step.onnx", "vq_update.onnx", "vq_decode.onnx"):
        with open(os.path.join(out_dir, f), "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:16]


def config_hash(cfg):
    keys = ["model_id", "patch_nums", "num_layers", "num_heads", "head_dim", "vocab_size", "codebook_dim",
            "num_classes", "image_size", "latent_size"]
    return hashlib.sha256(json.dumps({k: cfg[k] for k in keys}, sort_keys=True).encode()).hexdigest()[:16]


class StepGraph(nn.Module):
    def __init__(self, var):
        super().__init__()
        self.var, self.Lyr, self.H = var, CONFIG["num_layers"], CONFIG["num_heads"]

    def forward(self, x_in, labels, pos_idx, *past):
        n = self.Lyr * self.H
        pk = [list(past[l * self.H:(l + 1) * self.H]) for l in range(self.Lyr)]
        pv = [list(past[n + l * self.H:n + (l + 1) * self.H]) for l in range(self.Lyr)]
        logits, ks, vs, masses = self.var.step(x_in, labels, pos_idx, pk, pv)
        return (logits, *ks, *vs, *[m for ml in masses for m in ml])


class UpdateGraph(nn.Module):
    def __init__(self, vq):
        super().__init__()
        self.vq = vq
        K, L2 = vq.K, CONFIG["latent_size"] ** 2
        up = torch.zeros(K, L2, L2)
        down = torch.zeros(K + 1, L2, L2)
        for i in range(K):
            u, d = vq.up(i), vq.down(i)
            up[i, :, :u.shape[1]] = u
            if i > 0:
                down[i - 1, :d.shape[0], :] = d
        down[K - 1] = torch.eye(L2)  # after the last scale: the full map itself
        self.register_buffer("up_stack", up)
        self.register_buffer("down_stack", down)

    def forward(self, f_hat, idx, scale):
        B, C, L, _ = f_hat.shape
        n = idx.shape[1]
        up = self.up_stack[scale[0]][:, :n]  # [L2, n]
        h = torch.einsum("bnc,mn->bcm", self.vq.codebook(idx), up).reshape(B, C, L, L)
        f_next = f_hat + self.vq.phi_apply(h)
        down = self.down_stack[scale[0]]  # [L2 (n_next, zero-padded), L2]
        next_x = torch.einsum("bcm,nm->bnc", f_next.reshape(B, C, L * L), down)
        return f_next, next_x  # next_x padded to L2 tokens: the first n_{t+1} are the next scale's input


class DecodeGraph(nn.Module):
    def __init__(self, vq):
        super().__init__()
        self.vq = vq

    def forward(self, f_hat):
        return self.vq.dec(f_hat).clamp(0, 1)


class ClassifierGraph(nn.Module):
    def __init__(self, clf):
        super().__init__()
        self.clf = clf

    def forward(self, image):
        return self.clf(image)


def io_names():
    Lyr, H = CONFIG["num_layers"], CONFIG["num_heads"]
    pk = [f"past_k_L{l}_H{h}" for l in range(Lyr) for h in range(H)]
    pv = [f"past_v_L{l}_H{h}" for l in range(Lyr) for h in range(H)]
    outs = ["logits"] + [f"present_k_L{l}" for l in range(Lyr)] + [f"present_v_L{l}" for l in range(Lyr)] + \
        [f"attn_L{l}_H{h}" for l in range(Lyr) for h in range(H)]
    return ["x_in", "labels", "pos_idx"] + pk + pv, outs


def export_step(var, path):
    Lyr, H, d, C = CONFIG["num_layers"], CONFIG["num_heads"], CONFIG["head_dim"], CONFIG["codebook_dim"]
    ins, outs = io_names()
    B, n = 2, 4
    past = [torch.randn(B, 3 + (i % 5), d) for i in range(Lyr * H)] * 2
    args = (torch.randn(B, n, C), torch.tensor([1, CONFIG["num_classes"]]), torch.arange(1, 1 + n), *past)
    dyn = {"x_in": {0: "B", 1: "n"}, "labels": {0: "B"}, "pos_idx": {0: "n"}, "logits": {0: "B", 1: "n"}}
    for nm in ins[3:]:
        dyn[nm] = {0: "B", 1: "P_" + nm.split("_", 2)[2]}
    for nm in outs[1:]:
        dyn[nm] = {0: "B", 2: "n"} if nm.startswith("present") else {0: "B", 1: "Pn_" + nm.split("_", 1)[1]}
    torch.onnx.export(StepGraph(var).eval(), args, path + ".tmp", input_names=ins, output_names=outs,
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)
    os.replace(path + ".tmp", path)


def export_simple(module, args, ins, outs, dyn, path):
    # eval() first: torch.onnx.export restores the wrapper's mode afterwards, recursively — a wrapper left in
    # train mode would switch the wrapped model (BatchNorm!) to train mode for everything computed later
    torch.onnx.export(module.eval(), args, path + ".tmp", input_names=ins, output_names=outs, dynamic_axes=dyn,
                      opset_version=OPSET, do_constant_folding=True)
    os.replace(path + ".tmp", path)


# -------------------------------------------------------------------------------- reference generation
def cfg_logits(logits, cfg_scale, si, K):
    t = cfg_scale * si / (K - 1)
    B = logits.shape[0] // 2
    return (1 + t) * logits[:B] - t * logits[B:]


def sample(logits, g, top_k=0, top_p=1.0, temperature=1.0):
    if top_k == 1:
        return logits.argmax(-1)
    logits = logits / temperature
    if top_k > 0:
        kth = logits.topk(top_k, -1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        srt, order = logits.sort(-1, descending=True)
        cum = srt.softmax(-1).cumsum(-1)
        remove = cum - srt.softmax(-1) > top_p
        srt = srt.masked_fill(remove, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, srt)
    p = logits.softmax(-1)
    return torch.multinomial(p.reshape(-1, p.shape[-1]), 1, generator=g).reshape(p.shape[:-1])


@torch.no_grad()
def generate(var, vq, labels, cfg_scale=3.0, g=None, top_k=0, top_p=0.95):
    """Full-cache generation with step(): labels [B] -> (images [B,3,64,64], token list per scale)."""
    B = len(labels)
    Lyr, H, d, C, L = CONFIG["num_layers"], CONFIG["num_heads"], CONFIG["head_dim"], CONFIG["codebook_dim"], CONFIG["latent_size"]
    dv = derived()
    lab = torch.cat([labels, torch.full_like(labels, CONFIG["num_classes"])])
    pk = [[torch.zeros(2 * B, 0, d) for _ in range(H)] for _ in range(Lyr)]
    pv = [[torch.zeros(2 * B, 0, d) for _ in range(H)] for _ in range(Lyr)]
    upd = UpdateGraph(vq)
    f_hat = torch.zeros(B, C, L, L)
    x_in = torch.zeros(2 * B, 1, C)
    toks = []
    for si in range(dv["num_scales"]):
        n, b = dv["tokens_per_scale"][si], dv["scale_begin"][si]
        logits, ks, vs, _ = var.step(x_in, lab, torch.arange(b, b + n), pk, pv)
        idx = sample(cfg_logits(logits, cfg_scale, si, dv["num_scales"]), g, top_k, top_p)
        toks.append(idx)
        for l in range(Lyr):
            for h in range(H):
                pk[l][h] = torch.cat([pk[l][h], ks[l][:, h]], 1)
                pv[l][h] = torch.cat([pv[l][h], vs[l][:, h]], 1)
        f_hat, nx = upd(f_hat, idx, torch.tensor([si]))
        if si + 1 < dv["num_scales"]:
            nx = nx[:, :dv["tokens_per_scale"][si + 1]]
        x_in = torch.cat([nx, nx])
    return vq.dec(f_hat).clamp(0, 1), toks


def grid_png(images, rows, path, pad=2):
    imgs = (images.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)
    n, h, w, _ = imgs.shape
    cols = n // rows
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = imgs[i]
    Image.fromarray(out).save(path + ".tmp.png")
    os.replace(path + ".tmp.png", path)


def flat(t):
    return [float(f"{v:.7g}") for v in t.detach().flatten().tolist()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "model"))
    ap.add_argument("--samples-per-class", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    vq, var, clf = load_trained("vqvae"), load_trained("var"), load_trained("classifier")
    data = build(CONFIG["image_size"])

    # shipped checkpoint: weights + training counters, no optimiser state
    ship = {}
    for stage, m in (("vqvae", vq), ("var", var), ("classifier", clf)):
        p = os.path.join(RUNS, f"{stage}.pt")
        st = torch.load(p)["state"] if os.path.exists(p) else torch.load(SHIPPED)[stage]["state"]
        ship[stage] = dict(model=m.state_dict(), state=st)
    atomic_save(ship, SHIPPED)

    # quality numbers
    tok = tokens(data)
    ho = data["split"] == "heldout"
    ho_x = to_tensor(data["images"][ho])
    with torch.no_grad():
        rec = vq.decode_idx(vq.quantize(vq.enc(ho_x))[1]).clamp(0, 1)
    vq_psnr = float(-10 * torch.log10(((rec - ho_x) ** 2).mean((1, 2, 3))).mean())
    report = dict(
        var_heldout_ce_nats=round(heldout_var_loss(var, tok), 4),
        var_uniform_ce_nats=round(math.log(CONFIG["vocab_size"]), 4),
        vqvae_heldout_psnr_db=round(vq_psnr, 2),
        classifier_heldout_accuracy=round(classifier_accuracy(clf, ho_x, torch.from_numpy(data["labels"][ho])), 4),
        heldout_images=int(ho.sum()), train_images=int((~ho).sum()),
        steps={k: v["state"]["step"] for k, v in ship.items()},
        minutes={k: round(v["state"]["minutes"], 1) for k, v in ship.items()},
    )
    print("report", json.dumps(report))

    # ONNX
    C, L = CONFIG["codebook_dim"], CONFIG["latent_size"]
    export_step(var, os.path.join(args.out, "step.onnx"))
    export_simple(UpdateGraph(vq), (torch.randn(1, C, L, L), torch.zeros(1, 9, dtype=torch.long), torch.tensor([2])),
                  ["f_hat", "idx", "scale"], ["f_hat_next", "next_x"],
                  {"f_hat": {0: "B"}, "idx": {0: "B", 1: "n"}, "f_hat_next": {0: "B"}, "next_x": {0: "B", 1: "n_next"}},
                  os.path.join(args.out, "vq_update.onnx"))
    export_simple(DecodeGraph(vq), (torch.randn(1, C, L, L),), ["f_hat"], ["image"],
                  {"f_hat": {0: "B"}, "image": {0: "B"}}, os.path.join(args.out, "vq_decode.onnx"))
    export_simple(ClassifierGraph(clf), (torch.rand(2, 3, 64, 64),), ["image"], ["logits", "features"],
                  {"image": {0: "B"}, "logits": {0: "B"}, "features": {0: "B"}}, os.path.join(args.out, "classifier.onnx"))

    # config.json: the one config object + derived shapes + files + quality
    ins, outs = io_names()
    cfg = dict(CONFIG)
    cfg["classes"] = [str(c) for c in data["classes"]]
    cfg.update(derived())
    cfg["config_hash"] = config_hash(cfg)
    cfg["weights_hash"] = weights_hash(args.out)
    cfg["null_class"] = CONFIG["num_classes"]
    cfg["cfg_schedule"] = "t = cfg * scale / (num_scales - 1); logits = (1 + t) * cond - t * uncond"
    cfg["dtype"] = "float32"
    cfg["files"] = dict(step="step.onnx", vq_update="vq_update.onnx", vq_decode="vq_decode.onnx", classifier="classifier.onnx")
    cfg["classifier_feature_dim"] = CONFIG["classifier_channels"][-1]
    cfg["opset"] = OPSET
    cfg["training"] = report
    with open(os.path.join(args.out, "config.json.tmp"), "w") as f:
        json.dump(cfg, f, indent=1)
    os.replace(os.path.join(args.out, "config.json.tmp"), os.path.join(args.out, "config.json"))

    # fixture: one step with uneven per-head cache lengths, one update, one decode, one greedy generation
    g = torch.Generator().manual_seed(1234)
    Lyr, H, d = CONFIG["num_layers"], CONFIG["num_heads"], CONFIG["head_dim"]
    lens = [int(torch.randint(0, 14, (1,), generator=g)) for _ in range(Lyr * H)]
    past = [torch.randn(2, P, d, generator=g) for P in lens] + [torch.randn(2, P, d, generator=g) for P in lens]
    x_in = torch.randn(2, 9, C, generator=g)
    labels = torch.tensor([3, CONFIG["num_classes"]])
    pos = torch.arange(5, 14)
    with torch.no_grad():
        o = StepGraph(var)(x_in, labels, pos, *past)
        f0 = torch.randn(1, C, L, L, generator=g)
        idx = torch.randint(0, CONFIG["vocab_size"], (1, 9), generator=g)
        fn, nx = UpdateGraph(vq)(f0, idx, torch.tensor([2]))
        img = DecodeGraph(vq)(fn)
        gen_img, gen_toks = generate(var, vq, torch.tensor([0]), 3.0, None, top_k=1)
    fixture = dict(
        config_hash=cfg["config_hash"],
        step=dict(past_lengths=lens, x_in=flat(x_in), labels=labels.tolist(), pos_idx=pos.tolist(),
                  past=[flat(p) for p in past],
                  logits=flat(o[0]), present_k_L0=flat(o[1]), present_v_L5=flat(o[2 * Lyr]),
                  attn=[flat(m) for m in o[1 + 2 * Lyr:]]),
        update=dict(f_hat=flat(f0), idx=idx.flatten().tolist(), scale=2, f_hat_next=flat(fn), next_x=flat(nx),
                    image=flat(img)),
        greedy=dict(class_index=0, cfg=3.0, tokens=[t.flatten().tolist() for t in gen_toks],
                    image_mean=float(gen_img.mean())),
    )
    with open(os.path.join(args.out, "fixture.json.tmp"), "w") as f:
        json.dump(fixture, f)
    os.replace(os.path.join(args.out, "fixture.json.tmp"), os.path.join(args.out, "fixture.json"))

    # held-out judge fixture: 2 real held-out images per class (PNG strip) with labels and PyTorch logits
    ho_idx = np.nonzero(ho)[0]
    pick = np.concatenate([ho_idx[data["labels"][ho_idx] == c][:2] for c in range(CONFIG["num_classes"])])
    strip = to_tensor(data["images"][pick])
    with torch.no_grad():
        ho_logits, _ = clf(strip)
    fx_dir = os.path.join(os.path.dirname(args.out), "fixtures")
    os.makedirs(fx_dir, exist_ok=True)
    grid_png(strip, 1, os.path.join(fx_dir, "heldout.png"), pad=0)
    with open(os.path.join(fx_dir, "heldout.json.tmp"), "w") as f:
        json.dump(dict(config_hash=cfg["config_hash"], layout="one row of 64x64 images, no padding",
                       labels=data["labels"][pick].tolist(), names=data["names"][pick].tolist(),
                       source=data["source"][pick].tolist(), logits=flat(ho_logits)), f)
    os.replace(os.path.join(fx_dir, "heldout.json.tmp"), os.path.join(fx_dir, "heldout.json"))

    # sample grid: one row per class
    g = torch.Generator().manual_seed(args.seed)
    rows = []
    for c in range(CONFIG["num_classes"]):
        im, _ = generate(var, vq, torch.full((args.samples_per_class,), c), 3.0, g, top_k=0, top_p=0.95)
        rows.append(im)
    imgs = torch.cat(rows)
    grid_png(imgs, CONFIG["num_classes"], os.path.join(args.out, "samples.png"))
    with torch.no_grad():
        acc = float((clf(imgs)[0].argmax(1) == torch.arange(CONFIG["num_classes"]).repeat_interleave(args.samples_per_class)).float().mean())
    cfg["training"]["samples_classifier_accuracy"] = round(acc, 4)
    with open(os.path.join(args.out, "config.json.tmp"), "w") as f:
        json.dump(cfg, f, indent=1)
    os.replace(os.path.join(args.out, "config.json.tmp"), os.path.join(args.out, "config.json"))
    print("samples: classifier accuracy on generated grid", acc)
    print("exported to", args.out)


if __name__ == "__main__":
    main()

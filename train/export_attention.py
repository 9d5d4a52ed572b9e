"""Export the demo VAR's full per-query attention as a separate graph for the head explorer.

    /usr/bin/python3 train/export_attention.py [--out data/model]

attention.onnx (opset 17) = the teacher-forced VAR forward (block-causal mask, exactly VAR.forward) that also
returns every layer's attention probabilities:
    inputs  labels [B] i64 (null class = num_classes for the uncond row), x_in [B, L-1, Cvae] f32
            (the teacher-forcing inputs: for scales 1..K-1 the area-downsampled running f_hat, i.e. the
            next_x rows of vq_update.onnx during generation)
    outputs logits [B, L, V], attn_L{l} [B, H, L, L] (row = query token, column = key token; block-causal:
            zero on keys of later scales)
The shipped step.onnx / config.json / weights hash are not touched: this graph is an extra file, used only
by the explorer job (jobs/explorer.ts). Before writing, the script checks that its logits equal
VAR.forward's on random inputs.
"""
import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import CONFIG, derived  # noqa: E402
from train import load_exported  # noqa: E402

OPSET = 17


class AttentionGraph(nn.Module):
    def __init__(self, var):
        super().__init__()
        self.var = var

    def forward(self, labels, x_in):
        var = self.var
        cond = var.class_emb(labels)
        sos = cond.unsqueeze(1) + var.pos_start
        x = torch.cat([sos, var.word_embed(x_in)], 1) + var.lvl_emb(var.lvl)[None] + var.pos
        attn = []
        for blk in var.blocks:
            x, a = blk(x, cond, var.mask, return_attn=True)
            attn.append(a)
        return (var.logits_head(x, cond), *attn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "model"))
    args = ap.parse_args()
    torch.manual_seed(0)
    var = load_exported("var")
    graph = AttentionGraph(var).eval()
    Lt, C = derived()["total_tokens"], CONFIG["codebook_dim"]
    labels = torch.tensor([1, CONFIG["num_classes"]])
    x_in = torch.randn(2, Lt - 1, C)
    with torch.no_grad():
        ref = var(labels, x_in)
        out = graph(labels, x_in)
    err = (out[0] - ref).abs().max().item()
    assert err < 1e-5, f"attention graph's logits differ from VAR.forward by {err}"
    rows = out[1].sum(-1)
    assert (rows - 1).abs().max().item() < 1e-5, "attention rows do not sum to 1"
    outs = ["logits"] + [f"attn_L{l}" for l in range(CONFIG["num_layers"])]
    dyn = {"labels": {0: "B"}, "x_in": {0: "B"}, **{n: {0: "B"} for n in outs}}
    path = os.path.join(args.out, "attention.onnx")
    torch.onnx.export(graph, (labels, x_in), path + ".tmp", input_names=["labels", "x_in"], output_names=outs,
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)
    os.replace(path + ".tmp", path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes); logits vs VAR.forward max |diff| {err:.2e}")


if __name__ == "__main__":
    main()

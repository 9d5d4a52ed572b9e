"""Guards of tools/torch_hook.py that need no model: run by tests/tools/torch-hook.test.ts.

1. deterministic shard names: two "runs" (two recorders, as two processes would be) of the same prompt and
   settings write the same file, so the second overwrites the first; other settings give another file.
2. non-finite activations are refused with a message that says so, in observe() and in the
   FoundationVision/VAR hook (a stand-in SelfAttention with the same attributes and a BHLc kv cache), where a
   NaN used to surface as "cached_k ... does not end with the recomputed keys".
Prints one JSON line with what happened; exit 0.
"""
import json
import os
import sys
import tempfile

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))
from torch_hook import ScaleStatsRecorder, attach_foundation_var, detach  # noqa: E402

PATCH, L, H, D = [1, 2], 1, 2, 4


def recorder(cfg=3.0):
    return ScaleStatsRecorder(PATCH, L, H, "feedfeedfeedfeed", "toy", ["a", "b"], cfg, 0, 0.95, 1.0)


def record(rec, c, seed, gen):
    rec.begin_prompt(c, seed)
    keys = None
    for n in (1, 4):
        q = torch.randn(2, H, n, D, generator=gen)
        k = torch.randn(2, H, n, D, generator=gen)
        keys = k if keys is None else torch.cat([keys, k], 2)
        rec.observe(0, q, keys, 0.5)
    rec.end_prompt()


class StandInAttention(nn.Module):
    """The attributes attach_foundation_var looks for, caching its keys BHLc like VAR's SelfAttention."""

    def __init__(self):
        super().__init__()
        C = H * D
        self.mat_qkv = nn.Linear(C, 3 * C, bias=False)
        self.q_bias, self.v_bias = nn.Parameter(torch.zeros(C)), nn.Parameter(torch.zeros(C))
        self.register_buffer("zero_k_bias", torch.zeros(C))
        self.num_heads, self.head_dim, self.scale, self.attn_l2_norm = H, D, 0.5, False
        self.caching, self.cached_k = True, None

    def forward(self, x, attn_bias=None):
        B, n, _ = x.shape
        qkv = nn.functional.linear(x, self.mat_qkv.weight, torch.cat((self.q_bias, self.zero_k_bias, self.v_bias)))
        k = qkv.view(B, n, 3, H, D)[:, :, 1].transpose(1, 2)
        self.cached_k = k if self.cached_k is None else torch.cat([self.cached_k, k], 2)
        return x


def main():
    out = {}
    gen = torch.Generator().manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        first, second, other = recorder(), recorder(), recorder(cfg=1.5)
        for rec in (first, second, other):
            record(rec, 1, 7, gen)
        out["first"] = [os.path.basename(p) for p in first.write_shard(d)]
        out["second"] = [os.path.basename(p) for p in second.write_shard(d)]  # a re-run: same name, overwritten
        out["other_settings"] = [os.path.basename(p) for p in other.write_shard(d)]
        out["files"] = sorted(os.listdir(d))
    rec = recorder()
    rec.begin_prompt(0, 1)
    q = torch.randn(2, H, 1, D)
    q[1, 0, 0, 2] = float("nan")
    try:
        rec.observe(0, q, torch.randn(2, H, 1, D), 0.5)
        out["observe_nan"] = "accepted"
    except Exception as e:  # noqa: BLE001
        out["observe_nan"] = f"{type(e).__name__}: {e}"
    rec.abort_prompt()
    model = nn.Sequential(StandInAttention())
    rec = recorder()
    handles = attach_foundation_var(model, rec)
    rec.begin_prompt(0, 1)
    x = torch.randn(2, 1, H * D)
    x[0, 0, 0] = float("nan")
    try:
        model(x)
        out["foundation_nan"] = "accepted"
    except Exception as e:  # noqa: BLE001
        out["foundation_nan"] = f"{type(e).__name__}: {e}"
    detach(handles)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

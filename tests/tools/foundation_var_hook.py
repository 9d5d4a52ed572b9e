"""Check attach_foundation_var against FoundationVision/VAR's real SelfAttention (models/basic_var.py).

The VAR source is NOT part of this repository: it is copied at run time into a temporary folder outside
the repo, from $HEATKV_VAR_REPO (a checkout of github.com/FoundationVision/VAR) or from the local git mirror
/work/.mirror/FoundationVision+VAR/repo. With neither, the script prints {"skipped": reason} and exits 0.

A tiny random-weight model of 2 SelfAttention blocks runs a few cached "scales" (kv_caching(True), attn_bias
None, as in autoregressive_infer_cfg) in three variants: attn_l2_norm with random per-head scale_mul (some
above the clamp), plain scaled attention, and the xformers code path (BLHc cache layout, with a stand-in
memory_efficient_attention). The recorded masses are compared with an explicit float64 NumPy computation.
Prints one JSON line {"max_abs_err": ..., "cases": {...}}; exit 1 if any error exceeds 1e-5.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))
from torch_hook import ScaleStatsRecorder, attach_foundation_var, detach  # noqa: E402

MIRROR = "/work/.mirror/FoundationVision+VAR/repo"
FILES = ("models/basic_var.py", "models/helpers.py")


def copy_var_source(dst):
    os.makedirs(os.path.join(dst, "models"))
    open(os.path.join(dst, "models", "__init__.py"), "w").close()  # not VAR's (it imports the whole model zoo)
    repo = os.environ.get("HEATKV_VAR_REPO")
    if repo:
        for f in FILES:
            shutil.copy(os.path.join(repo, f), os.path.join(dst, f))
        return repo
    if os.path.isdir(MIRROR):
        for f in FILES:
            src = subprocess.run(["git", "--git-dir", MIRROR if not os.path.isdir(os.path.join(MIRROR, ".git"))
                                  else os.path.join(MIRROR, ".git"), "show", f"HEAD:{f}"],
                                 capture_output=True, check=True).stdout
            open(os.path.join(dst, f), "wb").write(src)
        return MIRROR
    return None


def reference(mod, xs, patch_nums):
    """Explicit float64 masses [B, H, K, K] from the recorded inputs xs[t] [B, n_t, C] of one module."""
    W = mod.mat_qkv.weight.detach().double().numpy()
    bias = torch.cat((mod.q_bias, mod.zero_k_bias, mod.v_bias)).detach().double().numpy()
    H, c = mod.num_heads, mod.head_dim
    K = len(patch_nums)
    B = xs[0].shape[0]
    out = np.zeros((B, H, K, K))
    keys = []
    for t, x in enumerate(xs):
        x = x.double().numpy()
        qkv = (x @ W.T + bias).reshape(B, x.shape[1], 3, H, c)
        q, k = qkv[:, :, 0].transpose(0, 2, 1, 3), qkv[:, :, 1].transpose(0, 2, 1, 3)  # B H n c
        if mod.attn_l2_norm:
            sm = np.exp(np.minimum(mod.scale_mul_1H11.detach().double().numpy(), mod.max_scale_mul))  # 1 H 1 1
            q = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), 1e-12) * sm
            k = k / np.maximum(np.linalg.norm(k, axis=-1, keepdims=True), 1e-12)
        keys.append(k)
        kall = np.concatenate(keys, 2)
        logits = np.einsum("bhqc,bhkc->bhqk", q, kall) * float(mod.scale)
        a = np.exp(logits - logits.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        start = 0
        for s in range(t + 1):
            n = patch_nums[s] ** 2
            out[:, :, t, s] = a[:, :, :, start:start + n].sum(-1).mean(-1)
            start += n
    return out


def run_case(bv, seed, l2, xform, patch_nums=(1, 2, 3, 4), C=32, H=4, prompts=((0, 1), (2, 7))):
    torch.manual_seed(seed)

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.attns = nn.ModuleList([bv.SelfAttention(block_idx=i, embed_dim=C, num_heads=H, attn_l2_norm=l2,
                                                         flash_if_available=False) for i in range(2)])
            for a in self.attns:
                nn.init.normal_(a.mat_qkv.weight, std=0.5)
                nn.init.normal_(a.q_bias, std=0.5)
                nn.init.normal_(a.v_bias, std=0.5)
                if l2:
                    with torch.no_grad():
                        a.scale_mul_1H11.copy_(torch.tensor([0.5, 1.5, 3.0, 5.5])[:H].view(1, H, 1, 1))  # 5.5 > log 100
                a.using_xform = xform

    model = Tiny().eval()
    rec = ScaleStatsRecorder(patch_nums, 2, H, "test-hash", "tiny-var", ["a", "b", "c"], 1.5, 0, 0.0, 1.0)
    handles = attach_foundation_var(model, rec)
    B = 2 * len(prompts)
    inputs = [[], []]
    rec.begin_batch(list(prompts))
    with torch.no_grad():
        for a in model.attns:
            a.kv_caching(True)
        for pn in patch_nums:
            x = torch.randn(B, pn * pn, C)
            for i, a in enumerate(model.attns):
                inputs[i].append(x.clone())
                x = x + a(x, attn_bias=None)
        for a in model.attns:
            a.kv_caching(False)
    rec.end_prompt()
    detach(handles)
    P = len(prompts)
    err = 0.0
    for layer, a in enumerate(model.attns):
        ref = reference(a, inputs[layer], patch_nums)  # [B, H, K, K]
        for p in range(P):
            for b, row in ((0, p), (1, P + p)):
                got = rec.done[p][2][b, layer]  # [H, K, K]
                mask = np.tril(np.ones((len(patch_nums), len(patch_nums)), bool))
                err = max(err, float(np.abs(got[:, mask] - ref[row][:, mask]).max()))
                sums = got.sum(-1)
                err = max(err, float(np.abs(sums - 1).max()))  # full cache: masses over s sum to 1
    return err


def main():
    tmp = tempfile.mkdtemp(prefix="heatkv-var-src-")
    try:
        src = copy_var_source(tmp)
        if src is None:
            print(json.dumps({"skipped": "FoundationVision/VAR source not found: set HEATKV_VAR_REPO to a checkout"}))
            return 0
        sys.path.insert(0, tmp)
        import models.basic_var as bv

        def fake_xformers(q, k, v, attn_bias=None, p=0.0, scale=None):  # BLHc in, BLHc out
            a = torch.softmax(torch.einsum("blhc,bmhc->bhlm", q, k) * scale, -1)
            return torch.einsum("bhlm,bmhc->blhc", a, v).contiguous()

        bv.memory_efficient_attention = fake_xformers
        cases = {
            "l2norm_bhlc": run_case(bv, 1, True, False),
            "plain_bhlc": run_case(bv, 2, False, False),
            "l2norm_xformers_blhc": run_case(bv, 3, True, True),
        }
        worst = max(cases.values())
        print(json.dumps({"source": src, "max_abs_err": worst, "cases": cases}))
        return 0 if worst < 1e-5 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

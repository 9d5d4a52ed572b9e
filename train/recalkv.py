"""ReCalKV for the demo VAR: low-rank keys (head-similarity grouping + whitened grouped SVD) and calibrated
low-rank values (folded into the output projection), exported as alternative step graphs.

    /usr/bin/python3 train/recalkv.py --ranks 0.75,0.5,0.25 [--group-size 2] [--calib 256]

Reads the weights data/model was exported from (train.load_exported: checked against data/model/fixture.json), never rewrites step.onnx /
config.json; writes data/model/recalkv/step_r{NN}.onnx, recalkv.json and fixture.json.

Method (arXiv 2505.24357, adapted; no RoPE in this model):
- Calibration: teacher-forced token maps of `--calib` training images (VQ-VAE encoded), each run with its
  class label and with the null class (both CFG branches). Per layer, X = the modulated LN input of the qkv
  projection, all 155 positions: S = Cholesky(XᵀX/N + ε·mean(diag)·I) (mean second moment, so the
  whitened inputs S⁻¹x, hence the cached latents, have O(1) entries).
- Keys: per head the whitened key map W_k^h S [d, D]; head similarity = linear CKA between the heads'
  whitened key features; greedy grouping into groups of g heads (most similar pair of the remaining heads
  first, then the head most similar to the group). Per group: SVD of the stacked [W_k^h S] (g·d × D),
  rank r_k: latent z = A x with A = V_rᵀ S⁻¹ [r_k, D] (cached), per-head up-projection B_h [d, r_k]
  absorbed into the query: score = (B_hᵀ q_h)·z. The key bias b_k^h adds q_h·b_k^h to every score of a
  query: softmax-invariant, so it is dropped (checked numerically in `check_bias_invariance`).
- Values (Offline Value Calibration): per head, init = whitened SVD of W_v^h (E = V_rᵀ S⁻¹, C = U_r Σ_r),
  then one ALS round minimising the ATTENTION-OUTPUT error after the output projection,
      Σ_q ‖W_o^h (W_v^h − C_h E_h) x̄_{q,h}‖²,  x̄_{q,h} = Σ_k a^h_{qk} x_k  (full-model attention),
  M-step: M_h = W_o^h C_h ← least squares given E_h; E-step: E_h ← argmin given M_h (pinv(M_h) W_o^h W_v^h).
  The latent u_h = E_h x [r_v] is cached; M_h [D, r_v] replaces the output projection's columns of head h
  (o = Σ a u, so W_o^h C_h folds in), and the value bias goes through Σ_k a_k = 1 into the proj bias.
- Exact entries (the hybrid's sink scales): every graph also takes per-head full-width cached entries
  past_k_L{l}_H{h} / past_v_L{l}_H{h} [B, P_e, d] (bias-free k − b_k, v − b_v; P_e may be 0) and returns the
  scale's own present_k_L{l} / present_v_L{l} [B, H, n, d]; head h attends over [exact, latent (gathered by
  kidx), current] and attn_L{l}_H{h} is [B, P_e + P_h + n] in that order. With P_e = 0 the outputs equal the
  all-latent graphs'. The runtime holds scales < σ exact (schedule lowRank.sigma).
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import build  # noqa: E402
from models import CONFIG, derived  # noqa: E402
from train import load_exported, to_tensor  # noqa: E402
import webgpu_safe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPSET = 17
EPS = 1e-4


# --------------------------------------------------------------------------------------------- data
@torch.no_grad()
def encode(vq, images):
    idx_all, xin_all = [], []
    x = to_tensor(images)
    for i in range(0, len(x), 128):
        _, idx_list, _, _ = vq.quantize(vq.enc(x[i:i + 128]))
        idx_all.append(torch.cat(idx_list, 1))
        xin_all.append(vq.idx_to_var_input(idx_list))
    return torch.cat(idx_all), torch.cat(xin_all)


def pick(data, split, n, seed):
    ids = np.nonzero(data["split"] == split)[0]
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(ids, size=min(n, len(ids)), replace=False))


# --------------------------------------------------------------------------------- calibration hooks
@torch.no_grad()
def collect(var, labels, xin, acc):
    """Accumulates per layer the Gram XᵀX, Σx and row count of X (the modulated qkv input) and per head the
    Gram of the attention-aggregated inputs x̄_q = Σ_k a_qk x_k (full model). Runs the class and the null
    label on the same inputs (both CFG branches)."""
    nul = torch.full_like(labels, CONFIG["num_classes"])
    lab = torch.cat([labels, nul])
    xi = torch.cat([xin, xin])
    cond = var.class_emb(lab)
    sos = cond.unsqueeze(1) + var.pos_start
    x = torch.cat([sos, var.word_embed(xi)], 1) + var.lvl_emb(var.lvl)[None] + var.pos
    for l, blk in enumerate(var.blocks):
        g1, g2, s1, s2, b1, b2 = blk.mods(cond)
        B, L, D = x.shape
        xm = blk.ln1(x) * (1 + s1) + b1
        qkv = blk.qkv(xm).view(B, L, 3, blk.H, blk.d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(blk.d) + var.mask, -1)  # [B,H,L,L]
        X = xm.reshape(-1, D).double()
        xbar = torch.einsum("bhqk,bkd->hbqd", a, xm).reshape(blk.H, -1, D).double()
        st = acc.setdefault(l, dict(G=0, s=0, n=0, Gb=0))
        st["G"] = st["G"] + X.T @ X
        st["s"] = st["s"] + X.sum(0)
        st["n"] += X.shape[0]
        st["Gb"] = st["Gb"] + torch.einsum("hnd,hne->hde", xbar, xbar)
        o = (a @ v).transpose(1, 2).reshape(B, L, D)
        x = x + blk.proj(o) * g1
        x = x + blk.mlp(blk.ln2(x) * (1 + s2) + b2) * g2
    return acc


def cka_from_cov(C, Wa, Wb):
    """Linear CKA between the features X Waᵀ and X Wbᵀ, from the centred input covariance C = X_cᵀX_c."""
    ab = Wa @ C @ Wb.T
    aa = Wa @ C @ Wa.T
    bb = Wb @ C @ Wb.T
    return float(ab.pow(2).sum() / (aa.pow(2).sum().sqrt() * bb.pow(2).sum().sqrt()))


def group_heads(sim, g):
    """Greedy: seed each group with the most similar remaining pair, grow by the head most similar to it."""
    H = sim.shape[0]
    left = list(range(H))
    groups = []
    while left:
        if len(left) <= g:
            groups.append(sorted(left))
            break
        best = max(((i, j) for i in left for j in left if i < j), key=lambda p: (sim[p[0], p[1]], -p[0], -p[1]))
        grp = list(best)
        while len(grp) < g:
            nxt = max((h for h in left if h not in grp), key=lambda h: (np.mean([sim[h, m] for m in grp]), -h))
            grp.append(nxt)
        groups.append(sorted(grp))
        left = [h for h in left if h not in grp]
    return groups


# ------------------------------------------------------------------------------------- factorisation
@torch.no_grad()
def factorise(var, acc, ratio, g):
    Lyr, H, d = CONFIG["num_layers"], CONFIG["num_heads"], CONFIG["head_dim"]
    D = H * d
    rk, rv = int(round(ratio * g * d)), int(round(ratio * d))
    layers, report = [], []
    for l, blk in enumerate(var.blocks):
        st = acc[l]
        # mean (not summed) second moments: S⁻¹x is then white (unit variance) on the calibration data, so the
        # cached latents z = V_rᵀ S⁻¹ x have O(1) entries (balanced factors; fp16-friendly)
        G = st["G"] / st["n"]
        mu = st["s"] / st["n"]
        Cov = G - torch.outer(mu, mu)
        S = torch.linalg.cholesky(G + EPS * G.diagonal().mean() * torch.eye(D, dtype=G.dtype))
        Sinv = torch.linalg.inv(S)
        W = blk.qkv.weight.double()
        bias = blk.qkv.bias.double()
        Wq, Wk, Wv = W[:D], W[D:2 * D], W[2 * D:]
        bq = bias[:D]
        # CKA of the key features X W_kᵀ = CKA of the whitened projections W_k S (same Gram matrices)
        sim = np.array([[cka_from_cov(Cov, Wk[i * d:(i + 1) * d], Wk[j * d:(j + 1) * d]) for j in range(H)] for i in range(H)])
        groups = group_heads(sim, g)
        A, Bq, bqz, key_err = [], [None] * H, [None] * H, []
        for grp in groups:
            Wg = torch.cat([Wk[h * d:(h + 1) * d] for h in grp])  # [g d, D]
            U, Sig, Vt = torch.linalg.svd(Wg @ S, full_matrices=False)
            Ag = Vt[:rk] @ Sinv  # [rk, D]
            Bg = U[:, :rk] * Sig[:rk]  # [g d, rk]
            A.append(Ag)
            key_err.append(float(((Wg @ S - Bg @ Vt[:rk]).norm() / (Wg @ S).norm()) ** 2))
            for i, h in enumerate(grp):
                Bh = Bg[i * d:(i + 1) * d]  # [d, rk]
                Bq[h] = Bh.T @ Wq[h * d:(h + 1) * d]  # [rk, D]: q~ = B_hᵀ q_h
                bqz[h] = Bh.T @ bq[h * d:(h + 1) * d]
        Wo = blk.proj.weight.double()  # [D, D]
        bo = blk.proj.bias.double() + Wo @ bias[2 * D:]  # value bias through Σa = 1
        E, M, val_err0, val_err1 = [], [], [], []
        for h in range(H):
            Wvh, Woh = Wv[h * d:(h + 1) * d], Wo[:, h * d:(h + 1) * d]
            U, Sig, Vt = torch.linalg.svd(Wvh @ S, full_matrices=False)
            Eh = Vt[:rv] @ Sinv
            Ch = U[:, :rv] * Sig[:rv]
            Gb = st["Gb"][h] / st["n"]
            T = Woh @ Wvh  # [D, D]: target map on x̄
            err = lambda Mh, Eh_: float(torch.trace((T - Mh @ Eh_) @ Gb @ (T - Mh @ Eh_).T) / torch.trace(T @ Gb @ T.T))
            Mh = Woh @ Ch
            val_err0.append(err(Mh, Eh))
            # one ALS round: M-step (least squares on x̄ given E), then E-step (given M)
            Mh = T @ Gb @ Eh.T @ torch.linalg.inv(Eh @ Gb @ Eh.T)
            Eh = torch.linalg.pinv(Mh) @ T
            val_err1.append(err(Mh, Eh))
            E.append(Eh)
            M.append(Mh)
        layers.append(dict(groups=groups, A=A, Bq=Bq, bqz=bqz, E=E, M=torch.cat(M, 1), bo=bo, sim=sim))
        report.append(dict(key_rel_err=key_err, value_rel_err_svd=val_err0, value_rel_err_als=val_err1))
    return dict(ratio=ratio, g=g, rk=rk, rv=rv, layers=layers, report=report)


# --------------------------------------------------------------------------------- low-rank PyTorch
class LowRankVAR(nn.Module):
    """The VAR with ReCalKV attention: same embeddings, MLP, AdaLN, head as the base model."""

    def __init__(self, var, fac, current_exact=True):
        super().__init__()
        self.var, self.fac, self.current_exact = var, fac, current_exact
        self.record = None  # a list: teacher-forced attention maps [B, L, L] per (layer, head) are appended
        self.H, self.d = CONFIG["num_heads"], CONFIG["head_dim"]
        self.rk, self.rv = fac["rk"], fac["rv"]
        for l, lay in enumerate(fac["layers"]):
            f32 = lambda t: nn.Parameter(t.float(), requires_grad=False)
            self.register_parameter(f"A{l}", f32(torch.cat(lay["A"])))  # [G rk, D]
            self.register_parameter(f"Q{l}", f32(torch.cat(lay["Bq"])))  # [H rk, D]
            self.register_parameter(f"bQ{l}", f32(torch.cat(lay["bqz"])))  # [H rk]
            self.register_parameter(f"E{l}", f32(torch.cat(lay["E"])))  # [H rv, D]
            self.register_parameter(f"M{l}", f32(lay["M"]))  # [D, H rv]
            self.register_parameter(f"bo{l}", f32(lay["bo"]))
        self.group_of = [[next(i for i, grp in enumerate(lay["groups"]) if h in grp) for h in range(self.H)] for lay in fac["layers"]]

    def proj_in(self, l, xm):
        """xm [B, n, D] -> z [B, G, n, rk], u [B, H, n, rv], q~ [B, H, n, rk]."""
        B, n, _ = xm.shape
        z = F.linear(xm, getattr(self, f"A{l}")).view(B, n, -1, self.rk).transpose(1, 2)
        u = F.linear(xm, getattr(self, f"E{l}")).view(B, n, self.H, self.rv).transpose(1, 2)
        q = F.linear(xm, getattr(self, f"Q{l}"), getattr(self, f"bQ{l}")).view(B, n, self.H, self.rk).transpose(1, 2)
        return z, u, q

    def exact_qkv(self, blk, xm):
        """The block's own q, k − b_k, v − b_v [B, H, n, d] (full width, for the current scale's keys)."""
        B, n, D = xm.shape
        qkv = blk.qkv(xm).view(B, n, 3, self.H, self.d).permute(2, 0, 3, 1, 4)
        b = blk.qkv.bias.view(3, self.H, 1, self.d)
        return qkv[0], qkv[1] - b[1], qkv[2] - b[2]

    def out_proj(self, l, blk, o_lat, o_full):
        """M·(Σ_latent a u) + W_o·(Σ_exact a v) + b_o + W_o b_v (value bias through Σa = 1)."""
        y = F.linear(o_lat, getattr(self, f"M{l}"), getattr(self, f"bo{l}"))
        return y + F.linear(o_full, blk.proj.weight)

    def block_forward(self, l, blk, x, cond, mask):
        """Teacher forcing: keys/values of earlier scales as latents (what a cache holds); the query's own scale
        at full width (current_exact) or as latents too."""
        g1, g2, s1, s2, b1, b2 = blk.mods(cond)
        B, L, D = x.shape
        xm = blk.ln1(x) * (1 + s1) + b1
        z, u, qt = self.proj_in(l, xm)
        q, k, v = self.exact_qkv(blk, xm)
        lvl = self.var.lvl
        same = (lvl[:, None] == lvl[None, :]) if self.current_exact else torch.zeros(L, L, dtype=torch.bool)
        past = (lvl[:, None] >= lvl[None, :]) & ~same
        lat, full = [], []
        for h in range(self.H):
            s_lat = qt[:, h] @ z[:, self.group_of[l][h]].transpose(-1, -2)
            s_ex = q[:, h] @ k[:, h].transpose(-1, -2)
            a = torch.softmax(torch.where(same, s_ex, s_lat) / math.sqrt(self.d) + mask, -1)
            if self.record is not None:
                self.record.append(a)
            lat.append((a * past) @ u[:, h])
            full.append((a * same) @ v[:, h])
        x = x + self.out_proj(l, blk, torch.cat(lat, -1), torch.cat(full, -1)) * g1
        return x + blk.mlp(blk.ln2(x) * (1 + s2) + b2) * g2

    def forward(self, labels, x_in):
        v = self.var
        cond = v.class_emb(labels)
        sos = cond.unsqueeze(1) + v.pos_start
        x = torch.cat([sos, v.word_embed(x_in)], 1) + v.lvl_emb(v.lvl)[None] + v.pos
        for l, blk in enumerate(v.blocks):
            x = self.block_forward(l, blk, x, cond, v.mask)
        return v.logits_head(x, cond)

    def block_step(self, l, blk, x, cond, past_kz, kidx, past_vz, past_k=None, past_v=None):
        """past_kz: G tensors [B, P_g, rk]; kidx: H int64 [P_h]; past_vz: H tensors [B, P_h, rv]; past_k / past_v:
        H tensors [B, P_e, d] of EXACT cached entries (bias-free k − b_k, v − b_v; None = none), attended before
        the latents: the attention row of head h is [exact P_e, latent P_h, current n]. The scale's own
        keys/values: full width when current_exact (computed here and returned as k, v for a cache that keeps
        them exact), else latents."""
        g1, g2, s1, s2, b1, b2 = blk.mods(cond)
        B, n, D = x.shape
        xm = blk.ln1(x) * (1 + s1) + b1
        z, u, qt = self.proj_in(l, xm)
        q, k, v = self.exact_qkv(blk, xm)
        lat, full, masses = [], [], []
        for h in range(self.H):
            gi = self.group_of[l][h]
            zp = torch.index_select(past_kz[gi], 1, kidx[h])
            P = zp.shape[1]
            ke = past_k[h] if past_k is not None else torch.zeros(B, 0, self.d)
            ve = past_v[h] if past_v is not None else torch.zeros(B, 0, self.d)
            Pe = ke.shape[1]
            if self.current_exact:
                s_all = torch.cat([q[:, h] @ ke.transpose(-1, -2), qt[:, h] @ zp.transpose(-1, -2), q[:, h] @ k[:, h].transpose(-1, -2)], -1)
                a = torch.softmax(s_all / math.sqrt(self.d), -1)
                lat.append(a[..., Pe:Pe + P] @ past_vz[h])
                full.append(a[..., :Pe] @ ve + a[..., Pe + P:] @ v[:, h])
            else:
                zh = torch.cat([zp, z[:, gi]], 1)
                uh = torch.cat([past_vz[h], u[:, h]], 1)
                s_all = torch.cat([q[:, h] @ ke.transpose(-1, -2), qt[:, h] @ zh.transpose(-1, -2)], -1)
                a = torch.softmax(s_all / math.sqrt(self.d), -1)
                lat.append(a[..., Pe:] @ uh)
                full.append(a[..., :Pe] @ ve)
            masses.append(a.sum(1))
        x = x + self.out_proj(l, blk, torch.cat(lat, -1), torch.cat(full, -1)) * g1
        x = x + blk.mlp(blk.ln2(x) * (1 + s2) + b2) * g2
        return x, z, u, masses, k, v

    def step(self, x_in, labels, pos_idx, past_kz, kidx, past_vz, past_k=None, past_v=None):
        v = self.var
        cond = v.class_emb(labels)
        lvl_pos = v.lvl_emb(v.lvl)
        first = (v.lvl == 0).to(x_in.dtype)[pos_idx][None, :, None]
        sos = cond.unsqueeze(1) + v.pos_start
        x = first * sos + (1 - first) * v.word_embed(x_in)
        x = x + lvl_pos[pos_idx][None] + v.pos[:, pos_idx]
        zs, us, ms, ks, vs = [], [], [], [], []
        for l, blk in enumerate(v.blocks):
            x, z, u, m, k, vv = self.block_step(l, blk, x, cond, past_kz[l], kidx[l], past_vz[l],
                                                past_k[l] if past_k is not None else None, past_v[l] if past_v is not None else None)
            zs.append(z)
            us.append(u)
            ms.append(m)
            ks.append(k)
            vs.append(vv)
        return v.logits_head(x, cond), zs, us, ms, ks, vs


class LowRankStepGraph(nn.Module):
    def __init__(self, lr):
        super().__init__()
        self.lr = lr
        self.Lyr, self.H = CONFIG["num_layers"], CONFIG["num_heads"]
        self.G = self.H // lr.fac["g"]

    def forward(self, x_in, labels, pos_idx, *past):
        Lyr, H, G = self.Lyr, self.H, self.G
        nk, ni = Lyr * G, Lyr * H
        pk = [list(past[l * G:(l + 1) * G]) for l in range(Lyr)]
        ki = [list(past[nk + l * H:nk + (l + 1) * H]) for l in range(Lyr)]
        pv = [list(past[nk + ni + l * H:nk + ni + (l + 1) * H]) for l in range(Lyr)]
        o = nk + 2 * ni
        pe_k = [list(past[o + l * H:o + (l + 1) * H]) for l in range(Lyr)]
        pe_v = [list(past[o + ni + l * H:o + ni + (l + 1) * H]) for l in range(Lyr)]
        logits, zs, us, ms, ks, vs = self.lr.step(x_in, labels, pos_idx, pk, ki, pv, pe_k, pe_v)
        return (logits, *zs, *us, *ks, *vs, *[m for ml in ms for m in ml])


def io_names(G):
    Lyr, H = CONFIG["num_layers"], CONFIG["num_heads"]
    ins = ["x_in", "labels", "pos_idx"] + [f"past_kz_L{l}_G{g}" for l in range(Lyr) for g in range(G)] + \
        [f"kidx_L{l}_H{h}" for l in range(Lyr) for h in range(H)] + [f"past_vz_L{l}_H{h}" for l in range(Lyr) for h in range(H)] + \
        [f"past_k_L{l}_H{h}" for l in range(Lyr) for h in range(H)] + [f"past_v_L{l}_H{h}" for l in range(Lyr) for h in range(H)]
    outs = ["logits"] + [f"present_kz_L{l}" for l in range(Lyr)] + [f"present_vz_L{l}" for l in range(Lyr)] + \
        [f"present_k_L{l}" for l in range(Lyr)] + [f"present_v_L{l}" for l in range(Lyr)] + \
        [f"attn_L{l}_H{h}" for l in range(Lyr) for h in range(H)]
    return ins, outs


def example_past(fac, gen, lens_h=None):
    """Random latent cache with uneven per-head lengths; each group's latent = union of its heads' rows."""
    Lyr, H, g = CONFIG["num_layers"], CONFIG["num_heads"], fac["g"]
    G = H // g
    pk, ki, pv, lens = [], [], [], []
    for l in range(Lyr):
        for gi, grp in enumerate(fac["layers"][l]["groups"]):
            Pg = int(torch.randint(0, 14, (1,), generator=gen))
            pk.append(torch.randn(2, Pg, fac["rk"], generator=gen))
            lens.append(Pg)
    li = 0
    for l in range(Lyr):
        for h in range(H):
            gi = next(i for i, grp in enumerate(fac["layers"][l]["groups"]) if h in grp)
            Pg = lens[l * G + gi]
            Ph = int(torch.randint(0, Pg + 1, (1,), generator=gen)) if Pg > 0 else 0
            sel = torch.randperm(Pg, generator=gen)[:Ph].sort().values if Pg > 0 else torch.zeros(0, dtype=torch.long)
            ki.append(sel.long())
            pv.append(torch.randn(2, Ph, fac["rv"], generator=gen))
            li += 1
    return pk, ki, pv


def example_exact(gen, lens=None):
    """Exact (full-width, bias-free) cached entries per (layer, head): [B, P_e, d]; lens = one P_e per head
    (None: random 1..5 per head)."""
    Lyr, H, d = CONFIG["num_layers"], CONFIG["num_heads"], CONFIG["head_dim"]
    ek, ev = [], []
    for i in range(Lyr * H):
        Pe = lens[i] if lens is not None else int(torch.randint(1, 6, (1,), generator=gen))
        ek.append(torch.randn(2, Pe, d, generator=gen))
        ev.append(torch.randn(2, Pe, d, generator=gen))
    return ek, ev


def export_variant(lr, path):
    fac = lr.fac
    G = CONFIG["num_heads"] // fac["g"]
    ins, outs = io_names(G)
    C = CONFIG["codebook_dim"]
    gen = torch.Generator().manual_seed(7)
    pk, ki, pv = example_past(fac, gen)
    ek, ev = example_exact(gen)
    args = (torch.randn(2, 4, C), torch.tensor([1, CONFIG["num_classes"]]), torch.arange(1, 5), *pk, *ki, *pv, *ek, *ev)
    dyn = {"x_in": {0: "B", 1: "n"}, "labels": {0: "B"}, "pos_idx": {0: "n"}, "logits": {0: "B", 1: "n"}}
    for nm in ins[3:]:
        tail = nm[nm.index("_L") + 1:]  # "L{l}_G{g}" / "L{l}_H{h}": one symbolic length per tensor family
        if nm.startswith("past_kz"):
            dyn[nm] = {0: "B", 1: "PG_" + tail}
        elif nm.startswith("kidx"):
            dyn[nm] = {0: "P_" + tail}
        elif nm.startswith("past_k_") or nm.startswith("past_v_"):
            dyn[nm] = {0: "B", 1: "PE_" + tail}
        else:
            dyn[nm] = {0: "B", 1: "P_" + tail}
    for nm in outs[1:]:
        dyn[nm] = {0: "B", 2: "n"} if nm.startswith("present") else {0: "B", 1: "Pn_" + nm.split("_", 1)[1]}
    # written as path (the caller passes a .tmp name): main() renames every output only once all are done
    torch.onnx.export(LowRankStepGraph(lr).eval(), args, path, input_names=ins, output_names=outs,
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)
    # onnxruntime-web's WebGPU provider rejects a MatMul over an empty contraction (P_e = 0 or P_h = 0):
    # pad those with a zero entry, same products (train/webgpu_safe.py, docs/webgpu.md)
    webgpu_safe.main([path])


# ------------------------------------------------------------------------------------------ checks
@torch.no_grad()
def check_bias_invariance(var, fac, xm_sample):
    """Max |Δ softmax| between scores with and without the key-bias term q·b_k (must be ~0)."""
    blk, D, d = var.blocks[0], CONFIG["num_heads"] * CONFIG["head_dim"], CONFIG["head_dim"]
    W, b = blk.qkv.weight, blk.qkv.bias
    q = xm_sample @ W[:d].T + b[:d]
    k = xm_sample @ W[D:D + d].T
    s0 = torch.softmax(q @ k.T / math.sqrt(d), -1)
    s1 = torch.softmax(q @ (k + b[D:D + d]).T / math.sqrt(d), -1)
    return float((s0 - s1).abs().max())


@torch.no_grad()
def ce(model, labels, xin, idx):
    tot, n = 0.0, 0
    for i in range(0, len(labels), 64):
        lg = model(labels[i:i + 64], xin[i:i + 64])
        tot += float(F.cross_entropy(lg.reshape(-1, lg.shape[-1]), idx[i:i + 64].reshape(-1), reduction="sum"))
        n += idx[i:i + 64].numel()
    return tot / n


@torch.no_grad()
def deltas(var, lr, labels, xin):
    """Max / mean |Δ logits| and top-1 agreement (teacher forcing, both branches) vs the full model."""
    lg0 = var(labels, xin)
    lg1 = lr(labels, xin)
    return dict(max_abs_logits=float((lg0 - lg1).abs().max()), mean_abs_logits=float((lg0 - lg1).abs().mean()),
                top1_agreement=float((lg0.argmax(-1) == lg1.argmax(-1)).float().mean()))


@torch.no_grad()
def attention_deltas(var, lr, labels, xin):
    """Teacher-forced attention of every (layer, head, query) vs the full model: mean total-variation distance
    ½Σ_k|a − a'| and max |Δa| (both CFG branches)."""
    cond = var.class_emb(labels)
    x = torch.cat([cond.unsqueeze(1) + var.pos_start, var.word_embed(xin)], 1) + var.lvl_emb(var.lvl)[None] + var.pos
    full = []
    for blk in var.blocks:
        g1, g2, s1, s2, b1, b2 = blk.mods(cond)
        B, L, D = x.shape
        qkv = blk.qkv(blk.ln1(x) * (1 + s1) + b1).view(B, L, 3, blk.H, blk.d).permute(2, 0, 3, 1, 4)
        a = torch.softmax(qkv[0] @ qkv[1].transpose(-1, -2) / math.sqrt(blk.d) + var.mask, -1)
        full += [a[:, h] for h in range(blk.H)]
        x = x + blk.proj((a @ qkv[2]).transpose(1, 2).reshape(B, L, D)) * g1
        x = x + blk.mlp(blk.ln2(x) * (1 + s2) + b2) * g2
    lr.record = []
    lr(labels, xin)
    low, lr.record = lr.record, None
    tv = torch.stack([0.5 * (p - q).abs().sum(-1).mean() for p, q in zip(full, low)])
    mx = max(float((p - q).abs().max()) for p, q in zip(full, low))
    return dict(mean_tv=float(tv.mean()), max_abs=mx)


@torch.no_grad()
def step_vs_forward(lr, labels, xin):
    """Max |Δ logits| between the scale-by-scale step() (the exported graph's reference, growing latent cache)
    and teacher-forced forward() (what the CE is measured with) on the same inputs."""
    dv = derived()
    Lyr, H, G = CONFIG["num_layers"], CONFIG["num_heads"], CONFIG["num_heads"] // lr.fac["g"]
    B = labels.shape[0]
    ref = lr(labels, xin)
    pk = [[torch.zeros(B, 0, lr.rk) for _ in range(G)] for _ in range(Lyr)]
    pv = [[torch.zeros(B, 0, lr.rv) for _ in range(H)] for _ in range(Lyr)]
    outs = []
    for si in range(dv["num_scales"]):
        n, b = dv["tokens_per_scale"][si], dv["scale_begin"][si]
        xi = torch.zeros(B, 1, CONFIG["codebook_dim"]) if si == 0 else xin[:, b - 1:b - 1 + n]
        ki = [[torch.arange(pk[l][0].shape[1]) for _ in range(H)] for l in range(Lyr)]
        logits, zs, us, _, _, _ = lr.step(xi, labels, torch.arange(b, b + n), pk, ki, pv)
        outs.append(logits)
        for l in range(Lyr):
            for g in range(G):
                pk[l][g] = torch.cat([pk[l][g], zs[l][:, g]], 1)
            for h in range(H):
                pv[l][h] = torch.cat([pv[l][h], us[l][:, h]], 1)
    return float((torch.cat(outs, 1) - ref).abs().max())


def flat(t):
    return [float(f"{v:.7g}") for v in t.detach().flatten().tolist()]


def sha16(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ranks", default="0.75,0.5,0.25")
    ap.add_argument("--group-size", type=int, default=2)
    ap.add_argument("--calib", type=int, default=256, help="training images for calibration")
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "model", "recalkv"))
    ap.add_argument("--latent-current", action="store_true",
                    help="also run the scale's own keys/values through the latents (default: full width, as computed; only cached entries are latents)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    ratios = [float(r) for r in args.ranks.split(",")]
    g = args.group_size
    assert CONFIG["num_heads"] % g == 0, "group size must divide the head count"
    os.makedirs(args.out, exist_ok=True)
    base_cfg = json.load(open(os.path.join(ROOT, "data", "model", "config.json")))
    vq, var = load_exported("vqvae"), load_exported("var")
    data = build(CONFIG["image_size"])
    cal = pick(data, "train", args.calib, 0)
    ho = np.nonzero(data["split"] == "heldout")[0]
    cal_idx, cal_xin = encode(vq, data["images"][cal])
    ho_idx, ho_xin = encode(vq, data["images"][ho])
    cal_lab = torch.from_numpy(data["labels"][cal]).long()
    ho_lab = torch.from_numpy(data["labels"][ho]).long()
    acc = {}
    for i in range(0, len(cal), 32):
        collect(var, cal_lab[i:i + 32], cal_xin[i:i + 32], acc)
    print(f"calibration: {len(cal)} training images x 2 branches x 155 positions = {acc[0]['n']} rows per layer")
    ce_full = ce(var, ho_lab, ho_xin, ho_idx)
    nul = torch.full_like(ho_lab, CONFIG["num_classes"])
    print(f"held-out CE full model: {ce_full:.4f} nats/token ({len(ho)} images)")
    with torch.no_grad():
        lab2 = torch.cat([ho_lab[:2], nul[:2]])
        cond = var.class_emb(lab2)
        x0 = torch.cat([cond.unsqueeze(1) + var.pos_start, var.word_embed(torch.cat([ho_xin[:2]] * 2))], 1) + var.lvl_emb(var.lvl)[None] + var.pos
        _, _, s1, _, b1, _ = var.blocks[0].mods(cond)
        xm0 = (var.blocks[0].ln1(x0) * (1 + s1) + b1).reshape(-1, CONFIG["num_heads"] * CONFIG["head_dim"])
    bias_dev = check_bias_invariance(var, None, xm0)
    print(f"key-bias softmax invariance: max |Δ attention| = {bias_dev:.2e}")
    variants = []
    staged = []  # (.tmp written, final name): all renamed together once every output is complete
    fixture = dict(config_hash=base_cfg["config_hash"], variants={})
    for ratio in ratios:
        fac = factorise(var, acc, ratio, g)
        lr = LowRankVAR(var, fac, not args.latent_current).eval()
        vid = f"r{int(round(ratio * 100)):02d}"
        fname = f"step_{vid}.onnx"
        path = os.path.join(args.out, fname + ".tmp")  # renamed with recalkv.json at the end (see below)
        export_variant(lr, path)
        staged.append((path, os.path.join(args.out, fname)))
        c = ce(lr, ho_lab, ho_xin, ho_idx)
        dl = deltas(var, lr, torch.cat([ho_lab[:64], nul[:64]]), torch.cat([ho_xin[:64], ho_xin[:64]]))
        da = attention_deltas(var, lr, torch.cat([ho_lab[:16], nul[:16]]), torch.cat([ho_xin[:16], ho_xin[:16]]))
        svf = step_vs_forward(lr, torch.cat([ho_lab[:4], nul[:4]]), torch.cat([ho_xin[:4], ho_xin[:4]]))
        rep = fac["report"]
        mean = lambda key: float(np.mean([x for r in rep for x in r[key]]))
        G = CONFIG["num_heads"] // g
        v = dict(id=vid, rankRatio=ratio, groupSize=g, numGroups=G, keyLatentWidth=fac["rk"], valueLatentWidth=fac["rv"],
                 groups=[lay["groups"] for lay in fac["layers"]], file=f"recalkv/{fname}", fileSha256=sha16(path),
                 quality=dict(heldoutCeNats=round(c, 4), heldoutCeFullNats=round(ce_full, 4),
                              keyRelErrWhitened=round(mean("key_rel_err"), 5),
                              valueRelErrSvd=round(mean("value_rel_err_svd"), 5), valueRelErrAls=round(mean("value_rel_err_als"), 5),
                              maxAbsLogitsDelta=round(dl["max_abs_logits"], 4), meanAbsLogitsDelta=round(dl["mean_abs_logits"], 4),
                              top1Agreement=round(dl["top1_agreement"], 4),
                              attentionMeanTotalVariation=round(da["mean_tv"], 5), attentionMaxAbsDelta=round(da["max_abs"], 4),
                              stepVsForwardMaxAbsLogits=float(f"{svf:.3g}")),
                 headCka=[np.round(lay["sim"], 4).tolist() for lay in fac["layers"]])
        variants.append(v)
        print(f"{vid}: rk={fac['rk']} rv={fac['rv']} CE {c:.4f} (full {ce_full:.4f}) key err {v['quality']['keyRelErrWhitened']} "
              f"value err svd {v['quality']['valueRelErrSvd']} -> als {v['quality']['valueRelErrAls']}, "
              f"|Δlogits| max {dl['max_abs_logits']:.3f} mean {dl['mean_abs_logits']:.4f}, top-1 agree {dl['top1_agreement']:.4f}, "
              f"attention TV mean {da['mean_tv']:.4f} max |Δ| {da['max_abs']:.3f}, step vs forward {svf:.2e}, "
              f"{os.path.getsize(path) / 1e6:.1f} MB")
        # fixture: one step with uneven per-head / per-group lengths; case 0 without exact entries (the same
        # draws as before the exact inputs existed: its outputs equal the previous graphs'), case 1 with them
        gen = torch.Generator().manual_seed(1234)
        pk, ki, pv = example_past(fac, gen)
        x_in = torch.randn(2, 9, CONFIG["codebook_dim"], generator=gen)
        labels = torch.tensor([3, CONFIG["num_classes"]])
        pos = torch.arange(5, 14)
        Lyr, H = CONFIG["num_layers"], CONFIG["num_heads"]
        gen_e = torch.Generator().manual_seed(4321)
        cases = []
        for lens in ([0] * (Lyr * H), [int(torch.randint(0, 6, (1,), generator=gen_e)) for _ in range(Lyr * H)]):
            ek, ev = example_exact(gen_e, lens)
            with torch.no_grad():
                o = LowRankStepGraph(lr)(x_in, labels, pos, *pk, *ki, *pv, *ek, *ev)
            cases.append(dict(exact_lengths=lens, past_k=[flat(t) for t in ek], past_v=[flat(t) for t in ev],
                              logits=flat(o[0]), present_kz_L0=flat(o[1]), present_vz_L5=flat(o[2 * Lyr]),
                              present_k_L0=flat(o[1 + 2 * Lyr]), present_v_L5=flat(o[4 * Lyr]),
                              attn=[flat(m) for m in o[1 + 4 * Lyr:]]))
        fixture["variants"][vid] = dict(
            x_in=flat(x_in), labels=labels.tolist(), pos_idx=pos.tolist(),
            group_lengths=[p.shape[1] for p in pk], past_kz=[flat(p) for p in pk], kidx=[k.tolist() for k in ki],
            past_vz=[flat(p) for p in pv], cases=cases)
    manifest = dict(
        version="heatkv-recalkv/1", method="ReCalKV (arXiv 2505.24357): grouped whitened SVD keys + calibrated values",
        model_id=base_cfg["model_id"], config_hash=base_cfg["config_hash"], weights_hash=base_cfg["weights_hash"],
        calibration=dict(trainImages=len(cal), branches=["class", "null"], positions=derived()["total_tokens"], eps=EPS,
                         heldoutImages=len(ho), valueObjective="sum_q |W_o^h (W_v^h - C_h E_h) xbar_qh|^2, xbar = attention-aggregated qkv input (full model)"),
        keyBiasSoftmaxMaxDelta=bias_dev,
        currentScale="latent" if args.latent_current else "exact",
        io=dict(inputs="x_in, labels, pos_idx, past_kz_L{l}_G{g} [B,P_g,rk] f32, kidx_L{l}_H{h} [P_h] i64 (rows of the group latent), past_vz_L{l}_H{h} [B,P_h,rv] f32, "
                       "past_k_L{l}_H{h} / past_v_L{l}_H{h} [B,P_e,d] f32 (exact cached entries, bias-free k-b_k / v-b_v; P_e may be 0)",
                outputs="logits [B,n,V], present_kz_L{l} [B,G,n,rk], present_vz_L{l} [B,H,n,rv], present_k_L{l} / present_v_L{l} [B,H,n,d] (bias-free, for exact entries), "
                        "attn_L{l}_H{h} [B,P_e+P_h+n] (exact entries, latent entries, current scale)"),
        exactEntries=True,
        variants=variants)
    for name, obj, indent in (("recalkv.json", manifest, 1), ("fixture.json", fixture, None)):
        tmp = os.path.join(args.out, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=indent)
        staged.append((tmp, os.path.join(args.out, name)))
    # only now, with every graph, the manifest (whose fileSha256 are the graphs') and the fixture complete,
    # replace the old set: a crash before this point leaves the previous consistent set in place (the
    # runtime checks each graph's sha256 against recalkv.json, so a half-replaced set fails loudly)
    for tmp, final in staged:
        os.replace(tmp, final)
    print("wrote", args.out)


if __name__ == "__main__":
    main()

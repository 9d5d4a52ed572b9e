"""The demo VAR (next-scale prediction) model, scaled down from FoundationVision/VAR.

One config dict (CONFIG) from which every shape derives; it is written to data/model/config.json.
- MultiScaleVQVAE: conv encoder 64x64 -> 8x8 latent, multi-scale residual quantisation over patch_nums
  with one shared codebook and a shared Phi (3x3 conv, residual ratio 0.5), conv decoder.
  Resampling between a pn x pn token map and the 8x8 latent is a fixed linear operator (bicubic up,
  area down, as in VAR), stored as matrices so training, export and runtime use the same numbers.
- VAR: decoder-only transformer with adaptive layer norm on the class (null class = num_classes for CFG),
  block-causal attention over scales. `step()` runs one scale against a per-(layer, head) compact cache.
- EmojiClassifier: small CNN, the quality/alignment judge (features = pooled last conv layer).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = dict(
    model_id="heatkv-emoji-var-v1",
    image_size=64,
    latent_size=8,
    patch_nums=[1, 2, 3, 4, 5, 6, 8],
    vocab_size=512,
    codebook_dim=32,
    num_layers=6,
    num_heads=8,
    head_dim=16,
    mlp_ratio=4,
    num_classes=9,
    vq_channels=[48, 96, 128],
    phi_ratio=0.5,
    classifier_channels=[32, 64, 128, 128],
)


def derived(cfg=CONFIG):
    pn = cfg["patch_nums"]
    tokens = [p * p for p in pn]
    begins = [sum(tokens[:i]) for i in range(len(pn))]
    return dict(width=cfg["num_heads"] * cfg["head_dim"], tokens_per_scale=tokens, scale_begin=begins,
                total_tokens=sum(tokens), num_scales=len(pn), latent_tokens=cfg["latent_size"] ** 2)


def resample_matrices(cfg=CONFIG):
    """up[s]: [64, n_s] bicubic pn->latent; down[s]: [n_s, 64] area latent->pn (exact linear operators)."""
    L = cfg["latent_size"]
    ups, downs = [], []
    for p in cfg["patch_nums"]:
        basis = torch.eye(p * p).view(p * p, 1, p, p)
        up = basis if p == L else F.interpolate(basis, size=(L, L), mode="bicubic")
        ups.append(up.reshape(p * p, L * L).t().contiguous())
        basis_l = torch.eye(L * L).view(L * L, 1, L, L)
        down = basis_l if p == L else F.interpolate(basis_l, size=(p, p), mode="area")
        downs.append(down.reshape(L * L, p * p).t().contiguous())
    return ups, downs


# ----------------------------------------------------------------------------------------------- VQ-VAE
class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(8, c), nn.Conv2d(c, c, 3, padding=1)
        self.n2, self.c2 = nn.GroupNorm(8, c), nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.c2(F.silu(self.n2(self.c1(F.silu(self.n1(x))))))


class MultiScaleVQVAE(nn.Module):
    def __init__(self, cfg=CONFIG):
        super().__init__()
        c1, c2, c3 = cfg["vq_channels"]
        C, V = cfg["codebook_dim"], cfg["vocab_size"]
        self.cfg = cfg
        self.enc = nn.Sequential(
            nn.Conv2d(3, c1, 4, 2, 1), ResBlock(c1), nn.Conv2d(c1, c2, 4, 2, 1), ResBlock(c2),
            nn.Conv2d(c2, c3, 4, 2, 1), ResBlock(c3), nn.GroupNorm(8, c3), nn.SiLU(), nn.Conv2d(c3, C, 1))
        self.dec = nn.Sequential(
            nn.Conv2d(C, c3, 3, padding=1), ResBlock(c3), nn.ConvTranspose2d(c3, c2, 4, 2, 1), ResBlock(c2),
            nn.ConvTranspose2d(c2, c1, 4, 2, 1), ResBlock(c1), nn.ConvTranspose2d(c1, c1, 4, 2, 1),
            nn.GroupNorm(8, c1), nn.SiLU(), nn.Conv2d(c1, 3, 3, padding=1))
        self.codebook = nn.Embedding(V, C)
        nn.init.uniform_(self.codebook.weight, -1 / V, 1 / V)
        self.phi = nn.Conv2d(C, C, 3, padding=1)
        ups, downs = resample_matrices(cfg)
        for i, (u, d) in enumerate(zip(ups, downs)):
            self.register_buffer(f"up{i}", u, persistent=False)
            self.register_buffer(f"down{i}", d, persistent=False)
        self.K = len(cfg["patch_nums"])

    def up(self, i):
        return getattr(self, f"up{i}")

    def down(self, i):
        return getattr(self, f"down{i}")

    def phi_apply(self, h):  # h [B, C, L, L]
        r = self.cfg["phi_ratio"]
        return h * (1 - r) + self.phi(h) * r

    def embed_up(self, idx, i):
        """idx [B, n_i] -> phi(up(codebook[idx])) as [B, C, L, L]."""
        L = self.cfg["latent_size"]
        h = self.codebook(idx)  # [B, n, C]
        h = torch.einsum("bnc,mn->bcm", h, self.up(i))
        return self.phi_apply(h.reshape(h.shape[0], h.shape[1], L, L))

    def quantize(self, f):
        """Multi-scale residual quantisation. Returns (f_hat with straight-through grad, idx list, vq loss)."""
        B, C, L, _ = f.shape
        f_rest, f_hat = f.detach().clone(), torch.zeros_like(f)
        idx_list, loss = [], 0.0
        E = self.codebook.weight
        for i in range(self.K):
            rest = torch.einsum("bcm,nm->bnc", f_rest.reshape(B, C, L * L), self.down(i))  # [B, n, C]
            z = rest.reshape(-1, C)
            d = (z * z).sum(1, keepdim=True) - 2 * z @ E.t() + (E * E).sum(1)[None]
            idx = d.argmin(1).view(B, -1)
            idx_list.append(idx)
            h = self.embed_up(idx, i)
            f_hat = f_hat + h
            f_rest = f_rest - h.detach()
            loss = loss + F.mse_loss(f_hat, f.detach()) + 0.25 * F.mse_loss(f_hat.detach(), f)
        f_st = (f_hat.detach() - f.detach()) + f
        # codebook + phi learn through the first mse term, the encoder through the commitment term and the
        # straight-through estimate; the decoder sees f_hat's values.
        return f_st, idx_list, loss / self.K, f_hat

    def forward(self, x):
        f = self.enc(x)
        f_st, idx_list, vq_loss, _ = self.quantize(f)
        return self.dec(f_st), idx_list, vq_loss, f

    def idx_to_var_input(self, idx_list):
        """Teacher-forcing inputs: for scales 1..K-1 the area-downsampled running f_hat -> [B, L_total-1, C]."""
        B = idx_list[0].shape[0]
        C, L = self.cfg["codebook_dim"], self.cfg["latent_size"]
        f_hat = torch.zeros(B, C, L, L)
        outs = []
        for i in range(self.K - 1):
            f_hat = f_hat + self.embed_up(idx_list[i], i)
            outs.append(torch.einsum("bcm,nm->bnc", f_hat.reshape(B, C, L * L), self.down(i + 1)))
        return torch.cat(outs, 1)

    def decode_idx(self, idx_list):
        B = idx_list[0].shape[0]
        C, L = self.cfg["codebook_dim"], self.cfg["latent_size"]
        f_hat = torch.zeros(B, C, L, L)
        for i, idx in enumerate(idx_list):
            f_hat = f_hat + self.embed_up(idx, i)
        return self.dec(f_hat)


# -------------------------------------------------------------------------------------------- transformer
class PlainLN(nn.Module):
    """LayerNorm without affine parameters, written out (torch 1.13 exports F.layer_norm without weight as
    an invalid opset-17 LayerNormalization node)."""

    def __init__(self, eps=1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        mu = x.mean(-1, keepdim=True)
        xc = x - mu
        return xc / torch.sqrt((xc * xc).mean(-1, keepdim=True) + self.eps)


class AdaLNBlock(nn.Module):
    def __init__(self, D, H, mlp_ratio):
        super().__init__()
        self.H, self.d = H, D // H
        self.ln1, self.ln2 = PlainLN(), PlainLN()
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)
        self.fc1, self.fc2 = nn.Linear(D, mlp_ratio * D), nn.Linear(mlp_ratio * D, D)
        self.ada = nn.Linear(D, 6 * D)
        nn.init.zeros_(self.ada.weight)
        with torch.no_grad():  # gammas start at 1, scales/shifts at 0
            self.ada.bias.zero_()
            self.ada.bias[:2 * D] = 1.0

    def mods(self, cond):
        g1, g2, s1, s2, b1, b2 = self.ada(F.silu(cond)).unsqueeze(1).chunk(6, dim=-1)
        return g1, g2, s1, s2, b1, b2

    def mlp(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))

    def forward(self, x, cond, mask, return_attn=False):
        """Teacher forcing over all scales; mask [L, L] additive (block-causal). With return_attn, also the
        attention probabilities [B, H, L, L] (the head explorer's attention.onnx)."""
        g1, g2, s1, s2, b1, b2 = self.mods(cond)
        B, L, D = x.shape
        qkv = self.qkv(self.ln1(x) * (1 + s1) + b1).view(B, L, 3, self.H, self.d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.d) + mask, -1)
        o = (a @ v).transpose(1, 2).reshape(B, L, D)
        x = x + self.proj(o) * g1
        x = x + self.mlp(self.ln2(x) * (1 + s2) + b2) * g2
        return (x, a) if return_attn else x

    def step(self, x, cond, past_k, past_v):
        """One scale against a compact cache: past_k/v lists of H tensors [B, P_h, d] (P_h may differ).
        Returns x, new k/v [B, H, n, d], per-head attention mass on each key (past then current) summed over
        this scale's queries, [B, P_h + n]."""
        g1, g2, s1, s2, b1, b2 = self.mods(cond)
        B, n, D = x.shape
        qkv = self.qkv(self.ln1(x) * (1 + s1) + b1).view(B, n, 3, self.H, self.d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [B, H, n, d]
        outs, masses = [], []
        for h in range(self.H):
            kh = torch.cat([past_k[h], k[:, h]], 1)
            vh = torch.cat([past_v[h], v[:, h]], 1)
            a = torch.softmax(q[:, h] @ kh.transpose(-1, -2) / math.sqrt(self.d), -1)  # [B, n, P+n]
            outs.append(a @ vh)
            masses.append(a.sum(1))  # [B, P+n]: mass on every past key, then on the current scale's keys
        o = torch.stack(outs, 2).reshape(B, n, D)
        x = x + self.proj(o) * g1
        x = x + self.mlp(self.ln2(x) * (1 + s2) + b2) * g2
        return x, k, v, masses


class VAR(nn.Module):
    def __init__(self, cfg=CONFIG):
        super().__init__()
        dv = derived(cfg)
        D, self.K = dv["width"], dv["num_scales"]
        self.cfg, self.D, self.L = cfg, D, dv["total_tokens"]
        self.class_emb = nn.Embedding(cfg["num_classes"] + 1, D)
        self.pos_start = nn.Parameter(torch.randn(1, 1, D) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, self.L, D) * 0.02)
        self.lvl_emb = nn.Embedding(self.K, D)
        nn.init.normal_(self.lvl_emb.weight, std=0.02)
        self.word_embed = nn.Linear(cfg["codebook_dim"], D)
        self.blocks = nn.ModuleList([AdaLNBlock(D, cfg["num_heads"], cfg["mlp_ratio"]) for _ in range(cfg["num_layers"])])
        self.head_ln = PlainLN()
        self.head_ada = nn.Linear(D, 2 * D)
        nn.init.zeros_(self.head_ada.weight)
        nn.init.zeros_(self.head_ada.bias)
        self.head = nn.Linear(D, cfg["vocab_size"])
        lvl = torch.cat([torch.full((p * p,), i, dtype=torch.long) for i, p in enumerate(cfg["patch_nums"])])
        self.register_buffer("lvl", lvl, persistent=False)
        mask = torch.where(lvl[:, None] >= lvl[None, :], 0.0, float("-inf"))
        self.register_buffer("mask", mask, persistent=False)

    def logits_head(self, x, cond):
        s, b = self.head_ada(F.silu(cond)).unsqueeze(1).chunk(2, dim=-1)
        return self.head(self.head_ln(x) * (1 + s) + b)

    def forward(self, labels, x_in):
        """labels [B] (null = num_classes), x_in [B, L-1, Cvae] teacher-forcing inputs -> logits [B, L, V]."""
        cond = self.class_emb(labels)
        sos = cond.unsqueeze(1) + self.pos_start
        x = torch.cat([sos, self.word_embed(x_in)], 1) + self.lvl_emb(self.lvl)[None] + self.pos
        for blk in self.blocks:
            x = blk(x, cond, self.mask)
        return self.logits_head(x, cond)

    def step(self, x_in, labels, pos_idx, past_k, past_v):
        """One scale. x_in [B, n, Cvae] (ignored at scale 0), labels [B], pos_idx [n] absolute token positions,
        past_k/v[layer][head] [B, P, d]. Returns logits [B, n, V], per-layer k/v [B, H, n, d], masses."""
        cond = self.class_emb(labels)
        # float per-position tables gathered by pos_idx (constant-folded at export): no int64 arithmetic in
        # the graph, which onnxruntime-web's WebGPU provider computes wrongly
        lvl_pos = self.lvl_emb(self.lvl)  # [L, D]
        first_tab = (self.lvl == 0).to(x_in.dtype)  # [L]
        first = first_tab[pos_idx][None, :, None]
        sos = cond.unsqueeze(1) + self.pos_start
        x = first * sos + (1 - first) * self.word_embed(x_in)
        x = x + lvl_pos[pos_idx][None] + self.pos[:, pos_idx]
        ks, vs, masses = [], [], []
        for l, blk in enumerate(self.blocks):
            x, k, v, m = blk.step(x, cond, past_k[l], past_v[l])
            ks.append(k)
            vs.append(v)
            masses.append(m)
        return self.logits_head(x, cond), ks, vs, masses


# ----------------------------------------------------------------------------------------------- judge
class EmojiClassifier(nn.Module):
    def __init__(self, cfg=CONFIG):
        super().__init__()
        ch = cfg["classifier_channels"]
        layers, c_in = [], 3
        for c in ch:
            layers += [nn.Conv2d(c_in, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1),
                       nn.BatchNorm2d(c), nn.ReLU()]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in, cfg["num_classes"])

    def forward(self, x):
        """x [B, 3, 64, 64] in [0, 1] -> (logits [B, classes], features [B, F])."""
        f = self.features(x * 2 - 1).mean((2, 3))
        return self.fc(f), f

"""emoji-var-v2: the demo VAR with VAR's real scale structure (issue #16).

patch_nums 1,2,3,4,5,6,8,10,13,16 (680 tokens, C_max = 424 cached tokens per head) over a 16x16 latent
(64x64 RGB at 4x downsampling), an 8-layer x 8-head transformer. The classes of train/models.py are reused
unchanged (they take cfg); only the VQ-VAE's encoder/decoder (two stride-2 stages instead of three) and its
codebook update (EMA k-means on the per-scale residuals + dead-code restarts instead of a gradient-trained
codebook) differ. v1 (models.CONFIG, train/checkpoint.pt) is untouched.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from models import VAR, AdaLNBlock, MultiScaleVQVAE, ResBlock, derived

CONFIG_V2 = dict(
    model_id="heatkv-emoji-var-v2",
    image_size=64,
    latent_size=16,
    patch_nums=[1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
    vocab_size=2048,
    codebook_dim=32,
    num_layers=8,
    num_heads=8,
    head_dim=16,
    mlp_ratio=4,
    num_classes=9,
    vq_channels=[64, 128, 128],
    phi_ratio=0.5,
    classifier_channels=[32, 64, 128, 128],  # the judge is v1's classifier (64x64 images), reused as is
    ema_decay=0.99,
)


class MultiScaleVQVAE2(MultiScaleVQVAE):
    """64x64 -> 16x16xC. Same quantiser/Phi/resampling code as v1 (inherited); the codebook is an EMA of the
    (area-downsampled) residuals assigned to each code, so it gets no gradient."""

    def __init__(self, cfg=CONFIG_V2):
        super().__init__(cfg)
        c1, c2, c3 = cfg["vq_channels"]
        C, V = cfg["codebook_dim"], cfg["vocab_size"]
        self.enc = nn.Sequential(
            nn.Conv2d(3, c1, 4, 2, 1), ResBlock(c1), nn.Conv2d(c1, c2, 4, 2, 1), ResBlock(c2),
            nn.Conv2d(c2, c3, 3, padding=1), ResBlock(c3), nn.GroupNorm(8, c3), nn.SiLU(), nn.Conv2d(c3, C, 1))
        self.dec = nn.Sequential(
            nn.Conv2d(C, c3, 3, padding=1), ResBlock(c3), ResBlock(c3), nn.Conv2d(c3, c2, 3, padding=1),
            nn.ConvTranspose2d(c2, c1, 4, 2, 1), ResBlock(c1), nn.ConvTranspose2d(c1, c1, 4, 2, 1),
            nn.GroupNorm(8, c1), nn.SiLU(), nn.Conv2d(c1, 3, 3, padding=1))
        self.codebook.weight.requires_grad_(False)
        self.register_buffer("ema_count", torch.ones(V))
        self.register_buffer("ema_sum", self.codebook.weight.detach().clone())
        self.ema_stats = None  # set by quantize() in training mode: (counts [V], sums [V, C]) of this batch

    def quantize(self, f):
        """As v1 (f_hat straight-through, idx list, loss, f_hat), but the loss is the commitment term only
        (codebook by EMA; Phi learns through the reconstruction) and, in training, the batch's per-code
        residual statistics are stored for ema_update()."""
        B, C, L, _ = f.shape
        V = self.cfg["vocab_size"]
        f_rest, f_hat = f.detach().clone(), torch.zeros_like(f)
        idx_list, loss = [], 0.0
        E = self.codebook.weight
        counts, sums = torch.zeros(V), torch.zeros(V, C)
        for i in range(self.K):
            rest = torch.einsum("bcm,nm->bnc", f_rest.reshape(B, C, L * L), self.down(i))  # [B, n, C]
            z = rest.reshape(-1, C)
            d = (z * z).sum(1, keepdim=True) - 2 * z @ E.t() + (E * E).sum(1)[None]
            idx = d.argmin(1)
            if self.training:
                counts.index_add_(0, idx, torch.ones(len(idx)))
                sums.index_add_(0, idx, z.detach())
            idx = idx.view(B, -1)
            idx_list.append(idx)
            h = self.embed_up(idx, i)
            f_hat = f_hat + h
            f_rest = f_rest - h.detach()
            loss = loss + F.mse_loss(f_hat.detach(), f)
        self.ema_stats = (counts, sums) if self.training else None
        f_st = (f_hat - f_hat.detach()) + (f - f.detach()) + f_hat.detach()  # grads reach Phi and encoder
        return f_st, idx_list, 0.25 * loss / self.K, f_hat

    @torch.no_grad()
    def ema_update(self):
        if self.ema_stats is None:
            return
        counts, sums = self.ema_stats
        dcy = self.cfg["ema_decay"]
        self.ema_count.mul_(dcy).add_(counts, alpha=1 - dcy)
        self.ema_sum.mul_(dcy).add_(sums, alpha=1 - dcy)
        n = self.ema_count.sum()
        cnt = (self.ema_count + 1e-5) / (n + self.ema_count.numel() * 1e-5) * n  # Laplace smoothing
        self.codebook.weight.copy_(self.ema_sum / cnt[:, None])
        self.ema_stats = None

    @torch.no_grad()
    def restart_codes(self, dead, pool):
        """Re-seed dead codes from recent residual vectors (pool [N, C])."""
        pick = pool[torch.randint(0, len(pool), (len(dead),))]
        self.codebook.weight[dead] = pick
        self.ema_sum[dead] = pick
        self.ema_count[dead] = 1.0


# -------------------------------------------------------------------------------------------- transformer
def attention_chunks(cfg, unmasked_scales=2):
    """Query chunks for teacher forcing: the last `unmasked_scales` scales one chunk each (a scale's queries see
    exactly the keys before its end: no mask needed), all earlier scales one masked chunk. Skips about a third
    of the 680x680 score matrix, which dominates the CPU step (memory-bound softmax)."""
    dv = derived(cfg)
    ends = [b + n for b, n in zip(dv["scale_begin"], dv["tokens_per_scale"])]
    k = dv["num_scales"] - unmasked_scales
    chunks = [(0, ends[k - 1], True)]
    for s in range(k, dv["num_scales"]):
        chunks.append((dv["scale_begin"][s], ends[s], False))
    return chunks  # (query begin, query end = key end, masked?)


class VAR2(VAR):
    """v1's VAR (same parameters, same step()) whose teacher-forcing forward computes the block-causal
    attention in query chunks (attention_chunks) instead of one masked L x L matrix. Same function."""

    def __init__(self, cfg=CONFIG_V2):
        super().__init__(cfg)
        self.chunks = attention_chunks(cfg)

    def block_forward(self, blk, x, cond):
        g1, g2, s1, s2, b1, b2 = blk.mods(cond)
        B, L, D = x.shape
        qkv = blk.qkv(blk.ln1(x) * (1 + s1) + b1).view(B, L, 3, blk.H, blk.d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] / math.sqrt(blk.d), qkv[1], qkv[2]
        outs = []
        for qb, qe, masked in self.chunks:
            sc = q[:, :, qb:qe] @ k[:, :, :qe].transpose(-1, -2)
            if masked:
                sc = sc + self.mask[qb:qe, :qe]
            outs.append(torch.softmax(sc, -1) @ v[:, :, :qe])
        o = torch.cat(outs, 2).transpose(1, 2).reshape(B, L, D)
        x = x + blk.proj(o) * g1
        return x + blk.mlp(blk.ln2(x) * (1 + s2) + b2) * g2

    def forward(self, labels, x_in):
        cond = self.class_emb(labels)
        sos = cond.unsqueeze(1) + self.pos_start
        x = torch.cat([sos, self.word_embed(x_in)], 1) + self.lvl_emb(self.lvl)[None] + self.pos
        for blk in self.blocks:
            x = self.block_forward(blk, x, cond)
        return self.logits_head(x, cond)


def make_v2(stage):
    return {"vqvae": MultiScaleVQVAE2, "var": VAR2}[stage](CONFIG_V2)

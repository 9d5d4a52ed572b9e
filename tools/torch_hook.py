"""Record heatkv-stats/1 attention statistics from a PyTorch next-scale (VAR-style) model with forward hooks.

For every prompt, CFG branch (cond = first half of the batch rows, uncond = second half), layer l, head h,
target scale t and source scale s <= t the recorder stores

    mass = mean over the n_t queries of scale t of  sum_{k in scale s} softmax(q K^T * scale)[q, k]

(full-cache generation: the masses over s sum to 1). Rows are written in exactly the schema of
src/lib/schema/stats.ts STATS_COLUMNS (same names, order, DuckDB types) as one Parquet shard per prompt,
`stats-c<class>_s<seed>-<settings>.parquet` (settings = a hash of the model's config hash and id and the sampler
settings), so many GPU nodes / processes can write into one folder, DuckDB reads `folder/*.parquet`, and a
re-run of the same prompt overwrites its shard instead of adding a duplicate. See docs/stats-schema.md.

    rec = ScaleStatsRecorder(patch_nums, num_layers, num_heads, config_hash, model_id, class_names,
                             cfg=3.0, top_k=1, top_p=0.95, temperature=1.0)
    handles = attach_demo(var, rec)            # or attach_foundation_var(var, rec)
    rec.begin_prompt(class_index, seed)        # resets the per-layer key caches
    ... one full-cache generation (scales in order) ...
    rec.end_prompt()
    rec.write_shard("stats/")                  # -> stats/stats-c<class>_s<seed>-<settings>.parquet per prompt
    detach(handles)

The hooks recompute the attention probabilities from q and the keys (they do not change what the model
computes) and infer the target scale t of each call from its token count, which must be patch_nums[t]^2,
scale after scale. Memory is bounded by chunking the queries (`max_elems` attention entries at a time).
Non-finite queries or keys (NaN/Inf activations, e.g. an fp16 overflow) are refused with a FloatingPointError
that says so, before anything is recorded.
"""
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parquet_min import write_parquet  # noqa: E402

SCHEMA_VERSION = "heatkv-stats/1"

# src/lib/schema/stats.ts STATS_COLUMNS, same order; parquet_min types: INT32 -> INTEGER, DOUBLE, UTF8 -> VARCHAR
SCALE_COLUMNS = [
    ("schema_version", "UTF8"), ("config_hash", "UTF8"), ("model_id", "UTF8"), ("prompt", "UTF8"),
    ("class_index", "INT32"), ("class_name", "UTF8"), ("seed", "INT32"), ("cfg", "DOUBLE"), ("top_k", "INT32"),
    ("top_p", "DOUBLE"), ("temperature", "DOUBLE"), ("backend", "UTF8"), ("branch", "UTF8"), ("layer", "INT32"),
    ("head", "INT32"), ("target_scale", "INT32"), ("source_scale", "INT32"), ("mass", "DOUBLE"),
]


def prompt_id(class_index, seed):
    return f"c{class_index}_s{seed}"


def settings_hash(config_hash, model_id, cfg, top_k, top_p, temperature):
    """10 hex digits of sha256 over the model and the sampler settings: part of every shard name."""
    key = json.dumps({"h": str(config_hash), "m": str(model_id), "cfg": float(cfg), "k": int(top_k), "p": float(top_p),
                      "t": float(temperature)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def shard_name(class_index, seed, settings):
    """Deterministic shard name of one prompt: the same prompt and settings always map to the same file."""
    return f"stats-{prompt_id(class_index, seed)}-{settings}.parquet"


def check_finite(layer, t, **tensors):
    """Refuse NaN/Inf activations: they would otherwise surface later as a confusing shape/layout error."""
    for name, x in tensors.items():
        if not bool(torch.isfinite(x).all()):
            bad = int((~torch.isfinite(x)).sum())
            raise FloatingPointError(
                f"layer {layer}, scale {t}: {bad} non-finite value(s) (NaN/Inf) in the {name}: the model's activations "
                "are not finite (e.g. an fp16 overflow or NaN weights); refusing to record statistics from this run")


class ScaleStatsRecorder:
    def __init__(self, patch_nums, num_layers, num_heads, config_hash, model_id, class_names, cfg, top_k, top_p,
                 temperature, backend="torch-hook", max_elems=1 << 26):
        self.patch_nums = [int(p) for p in patch_nums]
        self.K = len(self.patch_nums)
        self.n = [p * p for p in self.patch_nums]
        self.begin = [sum(self.n[:i]) for i in range(self.K)]
        self.L, self.H = int(num_layers), int(num_heads)
        self.config_hash, self.model_id = str(config_hash), str(model_id)
        self.class_names = list(class_names)
        self.cfg, self.top_k, self.top_p, self.temperature = float(cfg), int(top_k), float(top_p), float(temperature)
        self.backend = backend
        self.max_elems = int(max_elems)
        self.prompts = None  # open batch: [(class_index, seed)]
        self.done = []  # finished prompts: (class_index, seed, acc [2, L, H, K, K] float64)
        # segment matrix: key position -> source scale (one-hot), for summing probabilities per scale
        scale_of = torch.cat([torch.full((n,), i, dtype=torch.long) for i, n in enumerate(self.n)])
        self._seg = F.one_hot(scale_of, self.K).float()  # [P_total, K]

    # ------------------------------------------------------------------------------------- prompts
    def begin_prompt(self, class_index, seed):
        """Start one prompt (batch rows [cond, uncond]); resets the per-layer key caches and scale counters."""
        self.begin_batch([(class_index, seed)])

    def begin_batch(self, prompts):
        """Start a batch of prompts generated together: rows [cond_0..cond_{P-1}, uncond_0..uncond_{P-1}]."""
        if self.prompts is not None:
            raise RuntimeError("begin_prompt/begin_batch called while a prompt is open: call end_prompt() first")
        for c, _ in prompts:
            if not 0 <= int(c) < len(self.class_names):
                raise ValueError(f"class index {c} not in 0..{len(self.class_names) - 1}")
        self.prompts = [(int(c), int(s)) for c, s in prompts]
        P = len(self.prompts)
        self._acc = np.zeros((P, 2, self.L, self.H, self.K, self.K))
        self._seen = [0] * self.L  # scales processed per layer
        self._keys = [None] * self.L  # own key cache per layer [B, H, P, d]

    def end_prompt(self):
        """Close the open prompt(s); every layer must have seen all K scales (a full generation)."""
        if self.prompts is None:
            raise RuntimeError("end_prompt without begin_prompt")
        bad = [l for l in range(self.L) if self._seen[l] != self.K]
        if bad:
            raise RuntimeError(f"layers {bad} saw {[self._seen[l] for l in bad]} scales, expected {self.K}: "
                               "incomplete generation or hooks not attached to every layer")
        for i, (c, s) in enumerate(self.prompts):
            self.done.append((c, s, self._acc[i]))
        self.prompts, self._acc, self._keys = None, None, None

    def abort_prompt(self):
        """Discard the open prompt(s) (e.g. after an exception inside the generation)."""
        self.prompts, self._acc, self._keys = None, None, None

    @property
    def recording(self):
        return self.prompts is not None

    # ------------------------------------------------------------------------------------ the core
    def next_scale(self, layer, n_tokens):
        """Target scale of this layer's next call, checked against the token count."""
        t = self._seen[layer]
        if t >= self.K:
            raise RuntimeError(f"layer {layer}: more than {self.K} scales in one prompt (call begin_prompt before "
                               "each generation)")
        if n_tokens != self.n[t]:
            raise RuntimeError(f"layer {layer}: got {n_tokens} tokens, expected patch_nums[{t}]^2 = {self.n[t]} "
                               "(scales must come one at a time, in order, from full-cache generation)")
        return t

    @torch.no_grad()
    def observe(self, layer, q, keys, scale):
        """q [B, H, n_t, d] (as the module scales/normalises it), keys [B, H, P, d] all keys of scales 0..t
        (full cache, in scale order), logits = q @ keys^T * scale. Accumulates the per-source-scale masses."""
        B, H, n, _ = q.shape
        t = self.next_scale(layer, n)
        check_finite(layer, t, queries=q, keys=keys)
        P = self.begin[t] + n
        if keys.shape[2] != P or keys.shape[1] != H or keys.shape[0] != B:
            raise RuntimeError(f"layer {layer}, scale {t}: keys {tuple(keys.shape)}, expected ({B}, {H}, {P}, d): "
                               "the recorder assumes a full (uncompressed) cache")
        if H != self.H:
            raise RuntimeError(f"layer {layer}: {H} heads, recorder set up for {self.H}")
        if B != 2 * len(self.prompts):
            raise RuntimeError(f"batch of {B} rows, expected 2 x {len(self.prompts)} prompts (cond rows then uncond)")
        if self._seg.device != q.device:
            self._seg = self._seg.to(q.device)
        seg = self._seg[:P, :t + 1]
        qf, kf = q.float(), keys.float()
        acc = torch.zeros(B, H, t + 1, dtype=torch.float64, device=q.device)
        chunk = max(1, self.max_elems // max(1, B * H * P))
        for i in range(0, n, chunk):
            a = torch.softmax(torch.matmul(qf[:, :, i:i + chunk], kf.transpose(-1, -2)) * scale, dim=-1)
            acc += torch.matmul(a, seg).sum(2, dtype=torch.float64)  # [B, H, t+1]
        m = (acc / n).cpu().numpy()  # [B, H, t+1]
        Pn = len(self.prompts)
        self._acc[:, 0, layer, :, t, :t + 1] = m[:Pn]
        self._acc[:, 1, layer, :, t, :t + 1] = m[Pn:]
        self._seen[layer] = t + 1

    # ---------------------------------------------------------------------------------------- rows
    def columns(self, done=None):
        """Finished prompts (default all; `done`: a subset of self.done) as heatkv-stats/1 columns (dict of lists /
        numpy arrays), rows ordered by (prompt, branch, layer, head, target_scale, source_scale)."""
        L, H, K = self.L, self.H, self.K
        tt, ss = np.tril_indices(K)  # (t, s) with s <= t, t-major
        cols = {name: [] for name, _ in SCALE_COLUMNS}
        ints = {k: [] for k in ("class_index", "seed", "layer", "head", "target_scale", "source_scale")}
        mass = []
        per_branch = L * H * len(tt)
        lh_l = np.repeat(np.arange(L), H * len(tt))
        lh_h = np.tile(np.repeat(np.arange(H), len(tt)), L)
        lh_t = np.tile(tt, L * H)
        lh_s = np.tile(ss, L * H)
        for c, s, acc in (self.done if done is None else done):
            for b, branch in enumerate(("cond", "uncond")):
                mass.append(acc[b][:, :, tt, ss].reshape(-1))
                ints["layer"].append(lh_l)
                ints["head"].append(lh_h)
                ints["target_scale"].append(lh_t)
                ints["source_scale"].append(lh_s)
                ints["class_index"].append(np.full(per_branch, c))
                ints["seed"].append(np.full(per_branch, s))
                cols["branch"] += [branch] * per_branch
                cols["prompt"] += [prompt_id(c, s)] * per_branch
                cols["class_name"] += [self.class_names[c]] * per_branch
        n = len(cols["branch"])
        out = {k: np.concatenate(v).astype(np.int32) for k, v in ints.items()}
        out["mass"] = np.concatenate(mass).astype(np.float64)
        for k in ("branch", "prompt", "class_name"):
            out[k] = cols[k]
        for k, v in (("schema_version", SCHEMA_VERSION), ("config_hash", self.config_hash),
                     ("model_id", self.model_id), ("backend", self.backend)):
            out[k] = [v] * n
        out["cfg"] = np.full(n, self.cfg)
        out["top_k"] = np.full(n, self.top_k, dtype=np.int32)
        out["top_p"] = np.full(n, self.top_p)
        out["temperature"] = np.full(n, self.temperature)
        return out

    @property
    def settings(self):
        return settings_hash(self.config_hash, self.model_id, self.cfg, self.top_k, self.top_p, self.temperature)

    def write_shard(self, directory, name=None, dictionary=True):
        """Write every finished prompt to its own shard <directory>/stats-c<class>_s<seed>-<settings>.parquet (temp
        file + os.replace): deterministic names, so re-running a prompt overwrites its shard rather than adding a
        duplicate that S-CAS would count twice. `name`: one file with all finished prompts instead. Returns the
        paths written. dictionary=True (default) dictionary-encodes the string columns (~3x smaller); False: PLAIN."""
        if not self.done:
            raise RuntimeError("no finished prompt to write (begin_prompt ... end_prompt first)")
        os.makedirs(directory, exist_ok=True)
        if name:
            groups = [(name, self.done)]
        else:
            by_prompt = {}
            for entry in self.done:  # the last recording of a prompt wins, as on disk
                by_prompt[(entry[0], entry[1])] = entry
            groups = [(shard_name(c, s, self.settings), [e]) for (c, s), e in by_prompt.items()]
        paths = []
        for fname, done in groups:
            path = os.path.join(directory, fname)
            cols = self.columns(done)
            if not np.isfinite(cols["mass"]).all():
                raise FloatingPointError(f"{path}: non-finite masses computed; refusing to write")
            write_parquet(path, SCALE_COLUMNS, cols, key_value={"heatkv.schema": SCHEMA_VERSION}, dictionary=dictionary)
            paths.append(path)
        return paths


# ----------------------------------------------------------------------------------- attachments
def detach(handles):
    for h in handles:
        h.remove()


def attach_demo(var_model, recorder):
    """The workbench's demo VAR (train/models.py): a forward hook on every block's `qkv` nn.Linear. The hook
    splits the output [B, n, 3*D] into q, k per head, appends k to its own per-layer key cache (reset at
    begin_prompt) and records softmax(q K^T / sqrt(d)). Returns the hook handles."""
    handles = []
    for layer, blk in enumerate(var_model.blocks):
        H, d = blk.H, blk.d

        def hook(module, inputs, output, layer=layer, H=H, d=d):
            if not recorder.recording:
                return
            B, n, _ = output.shape
            qkv = output.detach().view(B, n, 3, H, d).permute(2, 0, 3, 1, 4)
            q, k = qkv[0], qkv[1]  # [B, H, n, d]
            prev = recorder._keys[layer]
            keys = k if prev is None else torch.cat([prev, k], 2)
            recorder.observe(layer, q, keys, 1.0 / math.sqrt(d))
            recorder._keys[layer] = keys

        handles.append(blk.qkv.register_forward_hook(hook))
    if len(handles) != recorder.L:
        detach(handles)
        raise ValueError(f"model has {len(handles)} blocks, recorder expects {recorder.L} layers")
    return handles


def _foundation_qk(m, x):
    """q, k [B, H, n, c] of FoundationVision/VAR models/basic_var.py SelfAttention for input x [B, n, C], as
    its forward computes them: F.linear with mat_qkv.weight and bias cat(q_bias, zero_k_bias, v_bias), then
    (attn_l2_norm) q = normalize(q) * exp(clamp_max(scale_mul_1H11, max_scale_mul)), k = normalize(k).
    Logits are then q @ k^T * m.scale."""
    B, n, _ = x.shape
    H, c = m.num_heads, m.head_dim
    bias = torch.cat((m.q_bias, m.zero_k_bias, m.v_bias))
    qkv = F.linear(input=x, weight=m.mat_qkv.weight, bias=bias).view(B, n, 3, H, c)
    q, k = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2)  # BHnc
    if getattr(m, "attn_l2_norm", False):
        scale_mul = m.scale_mul_1H11.clamp_max(m.max_scale_mul).exp()  # [1, H, 1, 1]
        q = F.normalize(q, dim=-1).mul(scale_mul)
        k = F.normalize(k, dim=-1)
    return q, k, qkv.dtype


def _is_foundation_attn(m):
    return all(hasattr(m, a) for a in ("mat_qkv", "q_bias", "v_bias", "zero_k_bias", "num_heads", "head_dim", "scale"))


def attach_foundation_var(var_model, recorder):
    """FoundationVision/VAR (models/basic_var.py SelfAttention) during autoregressive_infer_cfg with kv
    caching: a forward hook on every SelfAttention module. The hook recomputes q, k from the module's input
    exactly as the module does and reads the keys from the module's own cache (`cached_k`, BHLc, or BLHc when
    flash-attn / xformers ran; the layout is checked against the recomputed current keys), falling back to
    its own per-layer cache when the module does not cache. Returns the hook handles."""
    mods = [m for m in var_model.modules() if _is_foundation_attn(m)]
    if not mods:
        raise ValueError("no FoundationVision/VAR SelfAttention modules (mat_qkv, q_bias, zero_k_bias, ...) found")
    mods.sort(key=lambda m: getattr(m, "block_idx", 0))
    if len(mods) != recorder.L:
        raise ValueError(f"model has {len(mods)} SelfAttention modules, recorder expects {recorder.L} layers")
    handles = []
    new_torch = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 0)
    for layer, m in enumerate(mods):

        def hook(module, args, *rest, layer=layer):
            if not recorder.recording:
                return
            kwargs = rest[0] if len(rest) == 2 else {}
            x = args[0] if args else kwargs.get("x")
            if x is None:
                raise RuntimeError("SelfAttention hook: no input x (called with keywords on torch < 2.0)")
            attn_bias = args[1] if len(args) > 1 else kwargs.get("attn_bias")
            with torch.no_grad():
                q, k, dtype = _foundation_qk(module, x.detach())
                t = recorder._seen[layer]
                check_finite(layer, t, queries=q, keys=k)  # NaN would otherwise fail the cache-layout match below
                P = recorder.begin[min(t, recorder.K - 1)] + k.shape[2]
                keys = None
                cached = getattr(module, "cached_k", None) if getattr(module, "caching", False) else None
                if cached is not None:
                    blhc = (getattr(module, "using_flash", False) and attn_bias is None and dtype != torch.float32) \
                        or getattr(module, "using_xform", False)
                    n = k.shape[2]
                    layouts = (cached.transpose(1, 2), cached) if blhc else (cached, cached.transpose(1, 2))
                    for cand in layouts:  # the flag picks the likely layout; the content decides
                        if tuple(cand.shape[:3]) == (k.shape[0], k.shape[1], P) and torch.allclose(
                                cand[:, :, P - n:].float(), k.float(), rtol=1e-2, atol=1e-3):
                            keys = cand
                            break
                    if keys is None:
                        raise RuntimeError(f"layer {layer}: module cached_k {tuple(cached.shape)} does not end with "
                                           f"the recomputed keys of this scale ({tuple(k.shape)}, {P} keys expected)")
                if keys is None:  # module does not cache: keep our own full cache
                    prev = recorder._keys[layer]
                    keys = k if prev is None else torch.cat([prev, k], 2)
                    recorder._keys[layer] = keys
                recorder.observe(layer, q, keys, float(module.scale))

        handles.append(m.register_forward_hook(hook, with_kwargs=True) if new_torch else m.register_forward_hook(hook))
    return handles

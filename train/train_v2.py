"""Time-boxed, resumable, seeded training of emoji-var-v2 (models_v2.CONFIG_V2; issue #16).

    nice -n 19 /usr/bin/python3 train/train_v2.py vqvae --minutes 60 --threads 1
    nice -n 19 /usr/bin/python3 train/train_v2.py var --minutes 90 --threads 1
    nice -n 19 /usr/bin/python3 train/train_v2.py bench --threads 1     # steps/s of both stages, no state
    /usr/bin/python3 train/train_v2.py eval --threads 1                 # held-out metrics of the checkpoint

Run state (model + optimiser + counters) lives in train/runs/v2/<stage>.pt (git-ignored), rewritten
atomically every 3 minutes and at the end; a later call continues where the last stopped. The compact
checkpoint train/v2/checkpoint.pt (model weights + buffers, fp32, per stage: {model, state, metrics}) is
rewritten every --ckpt-every minutes and at the end of every call: it is the file to commit, and a stage
without run state resumes from it (fresh optimiser, same step/minutes counters, so the lr schedule goes on).
The judge / perceptual network is v1's classifier (train/checkpoint.pt), which works on the same 64x64
images. v1's files are never written.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import build  # noqa: E402
from models import EmojiClassifier, CONFIG  # noqa: E402
from models_v2 import CONFIG_V2, derived, make_v2  # noqa: E402
from train import atomic_save, augment, batches, lr_at, to_tensor  # noqa: E402

RUNS = os.path.join(HERE, "runs", "v2")
CKPT = os.path.join(HERE, "v2", "checkpoint.pt")
V1_SHIPPED = os.path.join(HERE, "checkpoint.pt")
DEFAULTS = {  # stage: (batch, lr, total_minutes = length of the cosine lr schedule)
    "vqvae": (16, 1e-3, 60.0),
    "var": (8, 1e-3, 480.0),
}
PERCEPTUAL_WEIGHT = 0.1


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


# ------------------------------------------------------------------------------------------ checkpoints
def read_ckpt():
    return torch.load(CKPT) if os.path.exists(CKPT) else {}


def write_ckpt(stage, model, state, metrics=None):
    """Compact checkpoint: this stage's weights replace the old ones, other stages are kept."""
    ck = read_ckpt()
    old = ck.get(stage, {})
    ck[stage] = dict(model={k: v.detach().clone() for k, v in model.state_dict().items()},
                     state=dict(state), metrics=metrics if metrics is not None else old.get("metrics", {}))
    ck["config"] = CONFIG_V2
    atomic_save(ck, CKPT)


def load_stage(stage, lr):
    """Model + optimiser + counters from runs/v2, else the weights of train/v2/checkpoint.pt, else fresh."""
    model = make_v2(stage)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01 if stage == "var" else 0.0, betas=(0.9, 0.95))
    state = dict(step=0, minutes=0.0)
    path = os.path.join(RUNS, f"{stage}.pt")
    if os.path.exists(path):
        ck = torch.load(path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        log(f"[{stage}] resuming from {path}: step {state['step']}, {state['minutes']:.1f} min trained")
    elif stage in read_ckpt():
        ck = read_ckpt()[stage]
        model.load_state_dict(ck["model"])
        state = dict(ck["state"])
        log(f"[{stage}] resuming from {CKPT} (fresh optimiser): step {state['step']}, {state['minutes']:.1f} min")
    else:
        log(f"[{stage}] fresh start")
    return model, opt, params, state


def load_trained(stage):
    path = os.path.join(RUNS, f"{stage}.pt")
    src = torch.load(path)["model"] if os.path.exists(path) else read_ckpt()[stage]["model"]
    m = make_v2(stage)
    m.load_state_dict(src)
    return m.eval()


def load_judge():
    clf = EmojiClassifier(CONFIG)
    clf.load_state_dict(torch.load(V1_SHIPPED)["classifier"]["model"])
    for p in clf.parameters():
        p.requires_grad_(False)
    return clf.eval()


def judge_maps(clf, x):
    """Feature maps after the first three conv groups of v1's classifier (32x32, 16x16, 8x8)."""
    h, outs = x * 2 - 1, []
    for i, layer in enumerate(clf.features):
        h = layer(h)
        if i in (5, 11, 17):
            outs.append(h)
            if i == 17:
                break
    return outs


def perceptual(clf, a, b):
    """LPIPS-like: channel-normalised feature maps, squared difference, mean over layers."""
    loss = 0.0
    for fa, fb in zip(judge_maps(clf, a), judge_maps(clf, b)):
        fa = fa / (fa.norm(dim=1, keepdim=True) + 1e-6)
        fb = fb / (fb.norm(dim=1, keepdim=True) + 1e-6)
        loss = loss + ((fa - fb) ** 2).sum(1).mean()
    return loss / 3


# ------------------------------------------------------------------------------------------------- loop
def run_loop(stage, args, loss_fn, model, opt, params, state, n, labels=None, evaluate=None, after_step=None):
    batch, base_lr, total = DEFAULTS[stage]
    batch = args.batch or batch
    total = args.total_minutes or state.get("total_minutes") or total
    state["total_minutes"] = total
    g = torch.Generator().manual_seed(args.seed * 1000 + state["step"])
    it = batches(n, batch, g, labels, CONFIG_V2["num_classes"])
    t0 = time.time()
    last_save = last_ckpt = t0
    hist, start_minutes = [], state["minutes"]
    log(f"[{stage}] batch {batch}, lr {base_lr}, cosine over {total} min, this call {args.minutes} min")
    model.train()
    metrics = None
    while (time.time() - t0) / 60 < args.minutes:
        minutes = start_minutes + (time.time() - t0) / 60
        for pg in opt.param_groups:
            pg["lr"] = lr_at(base_lr, minutes, total, 100, state["step"])
        loss, parts = loss_fn(next(it), g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 2.0)
        opt.step()
        state["step"] += 1
        if after_step:
            after_step(state["step"])
        hist.append(parts)
        if state["step"] % 25 == 0:
            avg = {k: float(np.mean([p[k] for p in hist])) for k in hist[0]}
            hist = []
            el = time.time() - t0
            log(f"[{stage}] step {state['step']} min {minutes:.1f} lr {opt.param_groups[0]['lr']:.2e} "
                f"({el / 60:.1f} min this call) " + " ".join(f"{k} {v:.4f}" for k, v in avg.items()))
        now = time.time()
        state["minutes"] = start_minutes + (now - t0) / 60
        if now - last_save > 180:
            atomic_save(dict(model=model.state_dict(), opt=opt.state_dict(), state=state), os.path.join(RUNS, f"{stage}.pt"))
            last_save = now
        if now - last_ckpt > args.ckpt_every * 60:
            metrics = evaluate() if evaluate else None
            model.train()
            write_ckpt(stage, model, state, metrics)
            log(f"[{stage}] wrote {CKPT} at step {state['step']}; held-out {metrics}")
            last_ckpt = time.time()
    state["minutes"] = start_minutes + (time.time() - t0) / 60
    atomic_save(dict(model=model.state_dict(), opt=opt.state_dict(), state=state), os.path.join(RUNS, f"{stage}.pt"))
    metrics = evaluate() if evaluate else None
    write_ckpt(stage, model, state, metrics)
    log(f"[{stage}] done: step {state['step']}, {state['minutes']:.1f} min trained; wrote {CKPT}; held-out {metrics}")
    model.eval()
    return state


# --------------------------------------------------------------------------------------------- stages
def psnr_eval(vq, x):
    vq.eval()
    with torch.no_grad():
        mse = torch.cat([((vq(x[i:i + 64])[0].clamp(0, 1) - x[i:i + 64]) ** 2).flatten(1).mean(1)
                         for i in range(0, len(x), 64)])
    return dict(psnr_db=round(float(-10 * torch.log10(mse.mean())), 3),
                psnr_per_image_db=round(float((-10 * torch.log10(mse)).mean()), 3))


def train_vqvae(args, data):
    _, lr, _ = DEFAULTS["vqvae"]
    model, opt, params, state = load_stage("vqvae", lr)
    clf = load_judge()
    tr = to_tensor(data["images"][data["split"] == "train"])
    ho = to_tensor(data["images"][data["split"] == "heldout"])
    V = CONFIG_V2["vocab_size"]
    pool = []

    def loss_fn(idx, g):
        x = augment(tr[idx], g)
        f = model.enc(x)
        f_st, idx_list, commit, f_hat = model.quantize(f)
        rec = model.dec(f_st)
        mse = F.mse_loss(rec, x)
        perc = perceptual(clf, rec, x)
        pool.append(f.detach().permute(0, 2, 3, 1).reshape(-1, f.shape[1]))
        del pool[:-2]
        used = float((model.ema_count > 0.03).float().mean())
        return (F.l1_loss(rec, x) + mse + commit + PERCEPTUAL_WEIGHT * perc,
                dict(mse=float(mse), psnr=float(-10 * math.log10(float(mse))), commit=float(commit),
                     perc=float(perc), used=used))

    def after_step(step):
        model.ema_update()
        if step % 50 == 0 and step <= 20000:
            dead = torch.nonzero(model.ema_count < 0.03).flatten()
            if len(dead):
                # residual-sized vectors: the encoder output scaled down at random (coarse..fine scales)
                p = torch.cat(pool)
                model.restart_codes(dead, p[torch.randint(0, len(p), (len(dead),))] * torch.rand(len(dead), 1))

    run_loop("vqvae", args, loss_fn, model, opt, params, state, len(tr),
             evaluate=lambda: psnr_eval(model, ho[:args.eval_images]), after_step=after_step)
    log(f"[vqvae] held-out (all {len(ho)} images): {psnr_eval(model, ho)}")


def tokens(data, vq):
    """idx [2N, 680] (int16) of every image and its mirror under the given VQ-VAE; cached per weights."""
    stamp = float(sum(float(v.double().sum()) for v in vq.state_dict().values()))
    path = os.path.join(RUNS, "tokens.pt")
    if os.path.exists(path):
        t = torch.load(path)
        if t["stamp"] == stamp:
            return t
    x = to_tensor(data["images"])
    idx_all = []
    with torch.no_grad():
        for flip in (False, True):
            for i in range(0, len(x), 128):
                xb = x[i:i + 128].flip(3) if flip else x[i:i + 128]
                _, idx_list, _, _ = vq.quantize(vq.enc(xb))
                idx_all.append(torch.cat(idx_list, 1).to(torch.int16))
    out = dict(stamp=stamp, idx=torch.cat(idx_all),
               labels=torch.from_numpy(np.concatenate([data["labels"]] * 2)),
               heldout=torch.from_numpy(np.concatenate([data["split"] == "heldout"] * 2)))
    atomic_save(out, path)
    return out


def split_idx(vq, idx):
    pn = CONFIG_V2["patch_nums"]
    idx = idx.long()
    outs, b = [], 0
    for p in pn:
        outs.append(idx[:, b:b + p * p])
        b += p * p
    return outs


def var_loss(model, vq, tok, sel, drop_g=None):
    lab = tok["labels"][sel].clone()
    if drop_g is not None:  # classifier-free guidance: 10 % null class
        lab[torch.rand(len(lab), generator=drop_g) < 0.1] = CONFIG_V2["num_classes"]
    idx = tok["idx"][sel]
    with torch.no_grad():
        xin = vq.idx_to_var_input(split_idx(vq, idx))
    logits = model(lab, xin)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), idx.long().reshape(-1))


def heldout_var_loss(model, vq, tok, limit=None):
    ho = torch.nonzero(tok["heldout"]).flatten()
    if limit:
        ho = ho[torch.randperm(len(ho), generator=torch.Generator().manual_seed(0))[:limit]]
    model.eval()
    with torch.no_grad():
        tot = sum(float(var_loss(model, vq, tok, ho[i:i + 32])) * len(ho[i:i + 32]) for i in range(0, len(ho), 32))
    return dict(ce_nats=round(tot / len(ho), 4), images=len(ho), uniform=round(math.log(CONFIG_V2["vocab_size"]), 4))


def train_var(args, data):
    _, lr, _ = DEFAULTS["var"]
    vq = load_trained("vqvae")
    tok = tokens(data, vq)
    model, opt, params, state = load_stage("var", lr)
    tr = torch.nonzero(~tok["heldout"]).flatten()
    labels_tr = tok["labels"][tr].numpy()

    def loss_fn(idx, g):
        loss = var_loss(model, vq, tok, tr[idx], g)
        return loss, dict(ce=float(loss))

    run_loop("var", args, loss_fn, model, opt, params, state, len(tr), labels_tr,
             evaluate=lambda: heldout_var_loss(model, vq, tok, args.eval_images))


def bench(args, data):
    """Seconds per training step of both stages at their default batch (fresh models, nothing written)."""
    tr = to_tensor(data["images"][data["split"] == "train"])
    g = torch.Generator().manual_seed(0)
    clf = load_judge()
    vq = make_v2("vqvae")
    opt = torch.optim.AdamW([p for p in vq.parameters() if p.requires_grad], lr=1e-4)
    for bsz in [DEFAULTS["vqvae"][0]]:
        times = []
        for s in range(args.bench_steps + 1):
            t = time.time()
            x = augment(tr[torch.randint(0, len(tr), (bsz,), generator=g)], g)
            f = vq.enc(x)
            f_st, idx_list, commit, _ = vq.quantize(f)
            rec = vq.dec(f_st)
            loss = F.mse_loss(rec, x) + commit + PERCEPTUAL_WEIGHT * perceptual(clf, rec, x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            vq.ema_update()
            times.append(time.time() - t)
        s = float(np.median(times[1:]))
        log(f"[bench] vqvae batch {bsz}: {s:.3f} s/step = {1 / s:.2f} steps/s = {bsz / s:.1f} images/s")
    vq.eval()
    with torch.no_grad():
        idx_list = vq.quantize(vq.enc(tr[:64]))[1]
    idx = torch.cat(idx_list, 1)
    from models_v2 import VAR
    for hd in [int(h) for h in args.bench_head_dims.split(",")]:
        cfg = dict(CONFIG_V2, head_dim=hd)
        model = VAR(cfg)
        nparam = sum(p.numel() for p in model.parameters())
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        for bsz in [int(b) for b in args.bench_batches.split(",")]:
            times = []
            for s in range(args.bench_steps + 1):
                t = time.time()
                sel = torch.randint(0, len(idx), (bsz,), generator=g)
                with torch.no_grad():
                    xin = vq.idx_to_var_input(split_idx(vq, idx[sel]))
                logits = model(torch.zeros(bsz, dtype=torch.long), xin)
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), idx[sel].reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
                times.append(time.time() - t)
            s = float(np.median(times[1:]))
            log(f"[bench] var width {cfg['num_heads'] * hd} ({cfg['num_layers']}L x {cfg['num_heads']}H x {hd}), "
                f"{nparam / 1e6:.2f} M params, batch {bsz}: {s:.3f} s/step = {1 / s:.3f} steps/s = {bsz / s:.2f} images/s")


def evaluate(args, data):
    ho = to_tensor(data["images"][data["split"] == "heldout"])
    ck = read_ckpt()
    if "vqvae" in ck:
        vq = load_trained("vqvae")
        log(f"[eval] vqvae held-out ({len(ho)} images): {psnr_eval(vq, ho)}")
        if "var" in ck:
            model = load_trained("var")
            log(f"[eval] var held-out: {heldout_var_loss(model, vq, tokens(data, vq))}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["vqvae", "var", "bench", "eval"])
    ap.add_argument("--minutes", type=float, default=None, help="wall-clock time box for this call (vqvae, var)")
    ap.add_argument("--total-minutes", type=float, default=None,
                    help="planned total training minutes of the stage (cosine lr length); stored in the run state")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--ckpt-every", type=float, default=10.0, help="minutes between compact checkpoints")
    ap.add_argument("--eval-images", type=int, default=128, help="held-out images in the periodic evaluation")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bench-steps", type=int, default=4)
    ap.add_argument("--bench-batches", default="16")
    ap.add_argument("--bench-head-dims", default="16")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    data = build(CONFIG_V2["image_size"])
    assert len(data["classes"]) == CONFIG_V2["num_classes"], "CONFIG_V2.num_classes disagrees with the data"
    log(f"[{args.stage}] {len(data['images'])} images, derived shapes {derived(CONFIG_V2)}")
    if args.stage in ("vqvae", "var") and args.minutes is None:
        ap.error("--minutes is required for training")
    {"vqvae": train_vqvae, "var": train_var, "bench": bench, "eval": evaluate}[args.stage](args, data)


if __name__ == "__main__":
    main()

"""Time-boxed, resumable, seeded training of the demo model (CPU is fine; a GPU is used if present).

    /usr/bin/python3 train/train.py vqvae --minutes 12
    /usr/bin/python3 train/train.py var --minutes 35
    /usr/bin/python3 train/train.py classifier --minutes 5
    /usr/bin/python3 train/export.py            # ONNX + config.json + fixture + samples.png

State lives in train/runs/<stage>.pt (model + optimiser + step + elapsed minutes, rewritten atomically
every few minutes and at the end); a later call with --minutes continues where the last stopped. The
shipped weights are train/checkpoint.pt (models only), written by export.py; a stage with no run state
resumes from it (fresh optimiser). The learning rate follows a cosine over --total-minutes of training.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import build  # noqa: E402
from models import CONFIG, VAR, EmojiClassifier, MultiScaleVQVAE, derived  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.path.join(HERE, "runs")
SHIPPED = os.path.join(HERE, "checkpoint.pt")
DEFAULTS = {  # stage: (batch, lr, total_minutes)
    "vqvae": (24, 2e-3, 14.0),
    "var": (32, 1.5e-3, 40.0),
    "classifier": (64, 2e-3, 5.0),
}


def atomic_save(obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def make(stage):
    return {"vqvae": MultiScaleVQVAE, "var": VAR, "classifier": EmojiClassifier}[stage]()


def load_stage(stage, lr):
    """Model + optimiser + counters from runs/, else model from the shipped checkpoint, else fresh."""
    model = make(stage)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01 if stage != "vqvae" else 0.0,
                            betas=(0.9, 0.95))
    state = dict(step=0, minutes=0.0)
    path = os.path.join(RUNS, f"{stage}.pt")
    if os.path.exists(path):
        ck = torch.load(path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        print(f"[{stage}] resuming from {path}: step {state['step']}, {state['minutes']:.1f} min trained")
    elif os.path.exists(SHIPPED) and stage in torch.load(SHIPPED):
        ck = torch.load(SHIPPED)[stage]
        model.load_state_dict(ck["model"])
        state = ck["state"]
        print(f"[{stage}] resuming from shipped {SHIPPED} (fresh optimiser): step {state['step']}")
    return model, opt, state


def load_trained(stage):
    path = os.path.join(RUNS, f"{stage}.pt")
    src = torch.load(path)["model"] if os.path.exists(path) else torch.load(SHIPPED)[stage]["model"]
    m = make(stage)
    m.load_state_dict(src)
    return m.eval()


MODEL_DIR = os.path.join(os.path.dirname(HERE), "data", "model")


def matches_export(stage, m, model_dir=MODEL_DIR):
    """Does module m reproduce the PyTorch fixture that train/export.py wrote next to the shipped graphs?
    (var: the step's logits; vqvae: the decoder's image.)"""
    import json
    with open(os.path.join(model_dir, "fixture.json")) as f:
        fx = json.load(f)
    C, L = CONFIG["codebook_dim"], CONFIG["latent_size"]
    with torch.no_grad():
        if stage == "var":
            s, Lyr, H, d = fx["step"], CONFIG["num_layers"], CONFIG["num_heads"], CONFIG["head_dim"]
            past = [torch.tensor(p).reshape(2, P, d) for p, P in zip(s["past"], s["past_lengths"] * 2)]
            n = len(s["pos_idx"])
            pk = [past[l * H:(l + 1) * H] for l in range(Lyr)]
            pv = [past[Lyr * H + l * H:Lyr * H + (l + 1) * H] for l in range(Lyr)]
            out = m.step(torch.tensor(s["x_in"]).reshape(2, n, C), torch.tensor(s["labels"]), torch.tensor(s["pos_idx"]), pk, pv)[0]
            ref = torch.tensor(s["logits"])
        elif stage == "vqvae":
            u = fx["update"]
            out = m.dec(torch.tensor(u["f_hat_next"]).reshape(1, C, L, L)).clamp(0, 1)
            ref = torch.tensor(u["image"])
        else:
            raise ValueError(f"no export fixture for stage {stage}")
    return (out.flatten() - ref).abs().max().item() < 1e-4


def load_exported(stage, model_dir=MODEL_DIR):
    """The weights the graphs in data/model were exported from: graphs derived from them (attention.onnx,
    the ReCalKV variants) must use exactly these. Tries train/runs (a newer run exported with
    train/export.py), then the shipped checkpoint; fails naming both when neither reproduces the fixture."""
    tried = []
    candidates = [os.path.join(RUNS, f"{stage}.pt"), SHIPPED]
    for path in candidates:
        if not os.path.exists(path):
            continue
        ck = torch.load(path)
        src = ck["model"] if path != SHIPPED else ck[stage]["model"]
        m = make(stage)
        m.load_state_dict(src)
        m.eval()
        if matches_export(stage, m, model_dir):
            return m
        tried.append(path)
    raise SystemExit(f"{model_dir}/fixture.json: no {stage} weights reproduce the exported graphs (tried {', '.join(tried) or 'nothing'}); "
                     f"re-export with train/export.py first")


def lr_at(base, minutes, total, warm_steps, step):
    w = min(1.0, (step + 1) / warm_steps)
    frac = min(1.0, minutes / total)
    return base * w * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def to_tensor(images):
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


def augment(x, g, shift=True):
    flip = torch.rand(x.shape[0], generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if shift:  # random translation up to 3 px, padded with white
        dx, dy = (int(v) for v in torch.randint(-3, 4, (2,), generator=g))
        x = torch.roll(F.pad(x, (3, 3, 3, 3), value=1.0), (dy, dx), (2, 3))[:, :, 3:-3, 3:-3]
    return x


def batches(n, batch, g, labels=None, num_classes=None):
    """Class-balanced sampling: every class equally likely, uniform within a class."""
    if labels is None:
        while True:
            yield torch.randint(0, n, (batch,), generator=g)
    by_class = [torch.nonzero(torch.from_numpy(labels) == c).flatten() for c in range(num_classes)]
    while True:
        cls = torch.randint(0, num_classes, (batch,), generator=g)
        yield torch.stack([by_class[c][torch.randint(0, len(by_class[c]), (1,), generator=g)][0] for c in cls])


def run_loop(stage, args, loss_fn, model, opt, state, n, labels=None):
    batch, base_lr, total = DEFAULTS[stage]
    total = args.total_minutes or total
    g = torch.Generator().manual_seed(args.seed * 1000 + state["step"])
    it = batches(n, batch, g, labels, CONFIG["num_classes"])
    t0, last_save, log = time.time(), time.time(), []
    start_minutes = state["minutes"]
    model.train()
    while (time.time() - t0) / 60 < args.minutes:
        minutes = start_minutes + (time.time() - t0) / 60
        for pg in opt.param_groups:
            pg["lr"] = lr_at(base_lr, minutes, total, 100, state["step"])
        loss, parts = loss_fn(next(it), g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        opt.step()
        state["step"] += 1
        log.append(parts)
        if state["step"] % 50 == 0:
            avg = {k: float(np.mean([p[k] for p in log])) for k in log[0]}
            log = []
            print(f"[{stage}] step {state['step']} min {minutes:.1f} lr {opt.param_groups[0]['lr']:.2e} " +
                  " ".join(f"{k} {v:.4f}" for k, v in avg.items()), flush=True)
        if time.time() - last_save > 180:
            state["minutes"] = start_minutes + (time.time() - t0) / 60
            atomic_save(dict(model=model.state_dict(), opt=opt.state_dict(), state=state), os.path.join(RUNS, f"{stage}.pt"))
            last_save = time.time()
        if getattr(model, "after_step", None):
            model.after_step(state["step"])
    state["minutes"] = start_minutes + (time.time() - t0) / 60
    atomic_save(dict(model=model.state_dict(), opt=opt.state_dict(), state=state), os.path.join(RUNS, f"{stage}.pt"))
    model.eval()
    return state


# --------------------------------------------------------------------------------------------- stages
def train_vqvae(args, data):
    _, lr, _ = DEFAULTS["vqvae"]
    model, opt, state = load_stage("vqvae", lr)
    tr = to_tensor(data["images"][data["split"] == "train"])
    usage = torch.zeros(CONFIG["vocab_size"])
    recent_rest = []

    def loss_fn(idx, g):
        x = augment(tr[idx], g)
        f = model.enc(x)
        f_st, idx_list, vq_loss, f_hat = model.quantize(f)
        rec = model.dec(f_st)
        l_rec = F.l1_loss(rec, x) + F.mse_loss(rec, x)
        for i in idx_list:
            usage.mul_(0.99).index_add_(0, i.flatten(), torch.full((i.numel(),), 0.01))
        recent_rest.append(f.detach().permute(0, 2, 3, 1).reshape(-1, f.shape[1]))
        del recent_rest[:-4]
        return l_rec + vq_loss, dict(rec=float(F.mse_loss(rec, x)), vq=float(vq_loss),
                                     used=float((usage > 1e-3).float().mean()))

    def restart_dead(step):  # re-seed unused codes from recent encoder outputs (scaled down: residual sizes)
        if step % 100 or step > 4000:
            return
        dead = torch.nonzero(usage < 1e-3).flatten()
        if len(dead) == 0:
            return
        pool = torch.cat(recent_rest)
        pick = pool[torch.randint(0, len(pool), (len(dead),))] * torch.rand(len(dead), 1)
        with torch.no_grad():
            model.codebook.weight[dead] = pick
        usage[dead] = 0.01

    model.after_step = restart_dead
    state = run_loop("vqvae", args, loss_fn, model, opt, state, len(tr))
    model.after_step = None
    ho = to_tensor(data["images"][data["split"] == "heldout"])
    with torch.no_grad():
        rec, _, _, _ = model(ho)
    print(f"[vqvae] heldout recon mse {float(F.mse_loss(rec, ho)):.5f} "
          f"psnr {float(-10 * torch.log10(F.mse_loss(rec, ho))):.2f} dB")


def tokens(data):
    """Encode every image (and its mirror) with the trained VQ-VAE: idx [N, L] and teacher-forcing inputs."""
    path = os.path.join(RUNS, "tokens.pt")
    vq_path = os.path.join(RUNS, "vqvae.pt")
    stamp = os.path.getmtime(vq_path) if os.path.exists(vq_path) else os.path.getmtime(SHIPPED)
    if os.path.exists(path) and torch.load(path)["stamp"] == stamp:
        return torch.load(path)
    vq = load_trained("vqvae")
    x = to_tensor(data["images"])
    idx_all, xin_all = [], []
    with torch.no_grad():
        for flip in (False, True):
            for i in range(0, len(x), 256):
                xb = x[i:i + 256].flip(3) if flip else x[i:i + 256]
                _, idx_list, _, _ = vq.quantize(vq.enc(xb))
                idx_all.append(torch.cat(idx_list, 1))
                xin_all.append(vq.idx_to_var_input(idx_list))
    n = len(x)
    out = dict(stamp=stamp, idx=torch.cat(idx_all), xin=torch.cat(xin_all),
               labels=torch.from_numpy(np.concatenate([data["labels"]] * 2)),
               heldout=torch.from_numpy(np.concatenate([data["split"] == "heldout"] * 2)))
    assert out["idx"].shape[0] == 2 * n
    atomic_save(out, path)
    return out


def var_loss(model, tok, sel, drop_g=None):
    lab = tok["labels"][sel].clone()
    if drop_g is not None:  # classifier-free guidance: 10 % null class
        lab[torch.rand(len(lab), generator=drop_g) < 0.1] = CONFIG["num_classes"]
    logits = model(lab, tok["xin"][sel])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tok["idx"][sel].reshape(-1))


def heldout_var_loss(model, tok):
    ho = torch.nonzero(tok["heldout"]).flatten()
    with torch.no_grad():
        return float(np.mean([float(var_loss(model, tok, ho[i:i + 128])) for i in range(0, len(ho), 128)]))


def train_var(args, data):
    _, lr, _ = DEFAULTS["var"]
    tok = tokens(data)
    model, opt, state = load_stage("var", lr)
    tr = torch.nonzero(~tok["heldout"]).flatten()
    labels_tr = tok["labels"][tr].numpy()

    def loss_fn(idx, g):
        loss = var_loss(model, tok, tr[idx], g)
        return loss, dict(ce=float(loss))

    run_loop("var", args, loss_fn, model, opt, state, len(tr), labels_tr)
    print(f"[var] heldout cross-entropy {heldout_var_loss(model, tok):.4f} nats/token "
          f"(uniform would be {math.log(CONFIG['vocab_size']):.3f})")


def classifier_accuracy(model, x, y):
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 256])[0].argmax(1) for i in range(0, len(x), 256)])
    return float((pred == y).float().mean())


def train_classifier(args, data):
    _, lr, _ = DEFAULTS["classifier"]
    model, opt, state = load_stage("classifier", lr)
    m = data["split"] == "train"
    x, y = to_tensor(data["images"][m]), torch.from_numpy(data["labels"][m])

    def loss_fn(idx, g):
        logits, _ = model(augment(x[idx], g))
        loss = F.cross_entropy(logits, y[idx], label_smoothing=0.05)
        return loss, dict(ce=float(loss), acc=float((logits.argmax(1) == y[idx]).float().mean()))

    run_loop("classifier", args, loss_fn, model, opt, state, len(x), data["labels"][m])
    ho = data["split"] == "heldout"
    print(f"[classifier] heldout accuracy {classifier_accuracy(model, to_tensor(data['images'][ho]), torch.from_numpy(data['labels'][ho])):.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["vqvae", "var", "classifier"])
    ap.add_argument("--minutes", type=float, required=True, help="wall-clock time box for this call")
    ap.add_argument("--total-minutes", type=float, default=None, help="planned total (cosine lr length)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    data = build(CONFIG["image_size"])
    assert len(data["classes"]) == CONFIG["num_classes"], "CONFIG.num_classes disagrees with the data"
    print(f"[{args.stage}] {len(data['images'])} images, derived shapes {derived()}")
    {"vqvae": train_vqvae, "var": train_var, "classifier": train_classifier}[args.stage](args, data)


if __name__ == "__main__":
    main()

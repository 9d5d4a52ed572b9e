"""Emoji dataset: fetched from the npm registry (emoji-datasource-google, Apache-2.0, and
emoji-datasource-twitter, CC-BY-4.0), composited on white, labelled by emoji.json category.

Skin-tone variants are excluded (they live under `skin_variations`, never as top-level entries) and the
`Component` category (bare skin-tone swatches, hair pieces) is dropped. The split is by emoji, not by image,
so the Google and Twitter drawings of one emoji always land in the same split (no leakage).
"""
import hashlib
import json
import os
import subprocess
import tarfile

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache")
SETS = {"google": "emoji-datasource-google@16.0.0", "twitter": "emoji-datasource-twitter@16.0.0"}
DROP_CATEGORIES = {"Component"}
HELDOUT_FRACTION = 0.1


def _fetch(spec: str) -> str:
    """npm pack <spec> into the cache (npm registry only) and extract it; returns the package folder."""
    name = spec.split("@")[0]
    dest = os.path.join(CACHE, name)
    if os.path.exists(os.path.join(dest, "package", "emoji.json")):
        return os.path.join(dest, "package")
    os.makedirs(dest, exist_ok=True)
    out = subprocess.run(["npm", "pack", spec, "--silent"], cwd=dest, check=True, capture_output=True, text=True)
    tgz = os.path.join(dest, out.stdout.strip().splitlines()[-1])
    with tarfile.open(tgz) as tar:
        tar.extractall(dest)
    os.remove(tgz)
    return os.path.join(dest, "package")


def _split_of(unified: str) -> str:
    h = int(hashlib.sha1(unified.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "heldout" if h < HELDOUT_FRACTION else "train"


def load_png(path: str, size: int) -> np.ndarray:
    im = Image.open(path).convert("RGBA")
    if im.size != (size, size):
        im = im.resize((size, size), Image.BICUBIC)
    bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(bg, im).convert("RGB"), dtype=np.uint8)


def build(image_size: int = 64, sets=("google", "twitter")) -> dict:
    """Returns dict(images uint8 [N,H,W,3], labels int64 [N], split str [N], names, source, classes)."""
    cache_file = os.path.join(CACHE, f"emoji_{image_size}_{'_'.join(sets)}.npz")
    if os.path.exists(cache_file):
        z = np.load(cache_file, allow_pickle=False)
        return {k: z[k] for k in z.files}
    images, labels, split, names, source = [], [], [], [], []
    classes = None
    for s in sets:
        pkg = _fetch(SETS[s])
        meta = json.load(open(os.path.join(pkg, "emoji.json")))
        cats = [c for c in json.load(open(os.path.join(pkg, "categories.json"))) if c not in DROP_CATEGORIES] \
            if os.path.exists(os.path.join(pkg, "categories.json")) else None
        if cats is None or isinstance(cats, dict):
            cats = sorted({m["category"] for m in meta} - DROP_CATEGORIES)
        classes = classes or cats
        for m in sorted(meta, key=lambda m: m["sort_order"]):
            if m["category"] in DROP_CATEGORIES or not m.get(f"has_img_{s}"):
                continue
            p = os.path.join(pkg, "img", s, "64", m["image"])
            if not os.path.exists(p):
                continue
            images.append(load_png(p, image_size))
            labels.append(classes.index(m["category"]))
            split.append(_split_of(m["unified"]))
            names.append(m["short_name"])
            source.append(s)
    out = dict(images=np.stack(images), labels=np.array(labels, dtype=np.int64), split=np.array(split),
               names=np.array(names), source=np.array(source), classes=np.array(classes))
    os.makedirs(CACHE, exist_ok=True)
    np.savez(cache_file + ".tmp.npz", **out)
    os.replace(cache_file + ".tmp.npz", cache_file)
    return out


if __name__ == "__main__":
    d = build()
    print("images", d["images"].shape, "classes", list(d["classes"]))
    for i, c in enumerate(d["classes"]):
        m = d["labels"] == i
        print(f"  {c:20s} train {int((m & (d['split'] == 'train')).sum()):4d}  heldout {int((m & (d['split'] == 'heldout')).sum()):4d}")

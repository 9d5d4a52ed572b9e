import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { folderReader, loadNodeModel, MODEL_DIR, nodeBackend } from "../../node/node-backend.js";
import { fixtureStepFeeds } from "../../src/lib/var/selfcheck.js";
import type { CachePolicy, VarModel } from "../../src/lib/var/runtime.js";
import { VarModel as VM } from "../../src/lib/var/runtime.js";
import { computeConfigHash } from "../../src/lib/model/index.js";

const fx = JSON.parse(readFileSync(join(MODEL_DIR, "fixture.json"), "utf8"));
const cfgRaw = JSON.parse(readFileSync(join(MODEL_DIR, "config.json"), "utf8"));
const L: number = cfgRaw.num_layers;
const H: number = cfgRaw.num_heads;
const d: number = cfgRaw.head_dim;
const C: number = cfgRaw.codebook_dim;

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
const f32 = (a: number[]) => Float32Array.from(a);
const i64 = (a: number[]) => BigInt64Array.from(a.map(BigInt));

let model: VarModel;
beforeAll(async () => {
  model = await loadNodeModel();
});

describe("ONNX graphs equal PyTorch on the committed fixture (onnxruntime-node)", () => {
  it("step: logits, new K/V and per-head attention mass with uneven per-head cache lengths", async () => {
    const step = await nodeBackend().load(readFileSync(join(MODEL_DIR, "step.onnx")), "step.onnx");
    const s = fx.step;
    const feeds = fixtureStepFeeds(model.config, s);
    const out = await step.run(feeds);
    const errs = {
      logits: maxAbs(out.logits.data as Float32Array, s.logits),
      present_k_L0: maxAbs(out.present_k_L0.data as Float32Array, s.present_k_L0),
      [`present_v_L${L - 1}`]: maxAbs(out[`present_v_L${L - 1}`].data as Float32Array, s.present_v_L5),
      attn: Math.max(...Array.from({ length: L * H }, (_, i) => maxAbs(out[`attn_L${Math.floor(i / H)}_H${i % H}`].data as Float32Array, s.attn[i]))),
    };
    console.log("step max |ORT − PyTorch|:", errs);
    for (const e of Object.values(errs)) expect(e).toBeLessThan(1e-4);
    // mass per key over past + current keys, summed over the n queries: each row sums to n
    const n = s.pos_idx.length;
    for (let i = 0; i < L * H; i++) {
      const a = out[`attn_L${Math.floor(i / H)}_H${i % H}`];
      expect(a.dims).toEqual([2, s.past_lengths[i] + n]);
      const row0 = Array.from((a.data as Float32Array).subarray(0, s.past_lengths[i] + n)).reduce((x, y) => x + y, 0);
      expect(row0).toBeCloseTo(n, 4);
    }
  });

  it("vq_update and vq_decode", async () => {
    const be = nodeBackend();
    const up = await be.load(readFileSync(join(MODEL_DIR, "vq_update.onnx")), "vq_update.onnx");
    const dec = await be.load(readFileSync(join(MODEL_DIR, "vq_decode.onnx")), "vq_decode.onnx");
    const u = fx.update;
    const o = await up.run({
      f_hat: { data: f32(u.f_hat), dims: [1, C, 8, 8] },
      idx: { data: i64(u.idx), dims: [1, u.idx.length] },
      scale: { data: i64([u.scale]), dims: [1] },
    });
    const img = await dec.run({ f_hat: o.f_hat_next });
    const errs = {
      f_hat_next: maxAbs(o.f_hat_next.data as Float32Array, u.f_hat_next),
      next_x: maxAbs(o.next_x.data as Float32Array, u.next_x),
      image: maxAbs(img.image.data as Float32Array, u.image),
    };
    console.log("tokenizer max |ORT − PyTorch|:", errs);
    for (const e of Object.values(errs)) expect(e).toBeLessThan(1e-4);
    // padded to the full latent; rows past n_{t+1} are zero
    expect(o.next_x.dims).toEqual([1, cfgRaw.latent_size ** 2, C]);
    const nNext = cfgRaw.patch_nums[u.scale + 1] ** 2;
    expect((o.next_x.data as Float32Array).subarray(nNext * C).every((v) => v === 0)).toBe(true);
  });

  it("greedy generation reproduces the PyTorch reference tokens at every scale", async () => {
    const r = await model.generate({ classIndex: fx.greedy.class_index, seed: 0, cfg: fx.greedy.cfg, topK: 1 });
    expect(r.tokens.map((t) => Array.from(t))).toEqual(fx.greedy.tokens);
    const mean = r.image.reduce((a, b) => a + b, 0) / r.image.length;
    expect(Math.abs(mean - fx.greedy.image_mean)).toBeLessThan(1e-4);
  });
});

describe("runtime", () => {
  it("is deterministic: same seed → same tokens and image; other seed → other tokens", async () => {
    const a = await model.generate({ classIndex: 2, seed: 11 });
    const b = await model.generate({ classIndex: 2, seed: 11 });
    const c = await model.generate({ classIndex: 2, seed: 12 });
    expect(b.tokens).toEqual(a.tokens);
    expect(b.image).toEqual(a.image);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it("accounts cache bytes exactly: full cache = 2 · L · H · d · C_max · 4 B · 2 rows", async () => {
    const r = await model.generate({ classIndex: 0, seed: 1 });
    const cmax = model.shape.maxCacheTokens;
    expect(r.peakCacheBytes).toBe(2 * L * H * d * cmax * 4 * 2);
    r.scales.forEach((s, t) => expect(s.cacheEntries).toBe(L * H * model.shape.cacheTokensEntering[t]));
    r.scales.forEach((s) => expect(s.cacheBytes).toBe(s.cacheEntries * 2 * d * 4 * 2));
  });

  it("dropping entries really shrinks the fed tensors and still generates", async () => {
    const seen: number[][] = [];
    const dropOdd: CachePolicy = {
      name: "drop-odd-heads-old-scales",
      afterScale(t, cache) {
        // odd heads keep only the scale just written; even heads keep everything
        for (let l = 0; l < L; l++) for (let h = 1; h < H; h += 2) cache.keepWhere(l, h, (s) => s === t);
        seen.push(cache.lengths());
      },
    };
    const full = await model.generate({ classIndex: 1, seed: 5 });
    const r = await model.generate({ classIndex: 1, seed: 5, policy: dropOdd });
    expect(r.peakCacheBytes).toBeLessThan(full.peakCacheBytes);
    const n = model.shape.tokensPerScale;
    // before the last scale: even heads hold C_max tokens, odd heads only scale K−2
    const last = seen[seen.length - 1];
    expect(last[0]).toBe(model.shape.maxCacheTokens);
    expect(last[1]).toBe(n[n.length - 2]);
    const expectBytes = ((L * H) / 2) * (model.shape.maxCacheTokens + n[n.length - 2]) * 2 * d * 4 * 2;
    expect(r.finalCacheBytes).toBe(expectBytes);
    expect(r.image.length).toBe(3 * 64 * 64);
    expect(r.image.every((v) => v >= 0 && v <= 1)).toBe(true);
    // the first scale sees an empty cache either way, so its tokens are identical
    expect(Array.from(r.tokens[0])).toEqual(Array.from(full.tokens[0]));
  });

  it("without CFG runs one row", async () => {
    const r = await model.generate({ classIndex: 0, seed: 1, cfg: 0 });
    expect(r.peakCacheBytes).toBe(2 * L * H * d * model.shape.maxCacheTokens * 4);
  });
});

describe("bad inputs give a clear error naming the file or value", () => {
  const copyModel = () => {
    const dir = mkdtempSync(join(tmpdir(), "heatkv-model-"));
    for (const f of ["config.json", "step.onnx", "vq_update.onnx", "vq_decode.onnx"]) copyFileSync(join(MODEL_DIR, f), join(dir, f));
    return dir;
  };
  it("missing ONNX", async () => {
    const dir = mkdtempSync(join(tmpdir(), "heatkv-model-"));
    copyFileSync(join(MODEL_DIR, "config.json"), join(dir, "config.json"));
    await expect(loadNodeModel(dir)).rejects.toThrow(/step\.onnx: not found/);
  });
  it("corrupt ONNX", async () => {
    const dir = copyModel();
    writeFileSync(join(dir, "vq_decode.onnx"), "not a model");
    await expect(loadNodeModel(dir)).rejects.toThrow(/vq_decode\.onnx: cannot load ONNX model/);
  });
  it("a generation graph overwritten in part is refused on load (weights_hash), naming the files", async () => {
    const dir = copyModel();
    const path = join(dir, "step.onnx");
    const bytes = readFileSync(path);
    const at = bytes.length >> 1; // inside a weight tensor: the graph still loads
    for (let i = at; i < at + 4096; i++) bytes[i] ^= 0x01;
    writeFileSync(path, bytes);
    await expect(loadNodeModel(dir)).rejects.toThrow(
      /step\.onnx \+ vq_update\.onnx \+ vq_decode\.onnx: sha256 [0-9a-f]{16} does not match config\.json's weights_hash 74425192b063d131/,
    );
  });
  it("config that does not match the graph", async () => {
    const dir = copyModel();
    const edited = { ...cfgRaw, num_layers: L + 1 };
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...edited, config_hash: computeConfigHash(edited) }));
    await expect(loadNodeModel(dir)).rejects.toThrow(/step\.onnx: input "past_v_L6_H7" missing/);
    writeFileSync(join(dir, "config.json"), "{ nope");
    await expect(VM.load(nodeBackend(), folderReader(dir))).rejects.toThrow(/config\.json: not valid JSON/);
  });
  it("unknown class, bad seed, bad sampler", async () => {
    await expect(model.generate({ classIndex: "dragons", seed: 1 })).rejects.toThrow(/unknown class "dragons"/);
    await expect(model.generate({ classIndex: 0, seed: 1.5 })).rejects.toThrow(/seed must be an integer/);
    await expect(model.generate({ classIndex: 0, seed: 1, topP: 2 })).rejects.toThrow(/top-p/);
  });
});

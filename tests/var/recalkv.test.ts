/**
 * ReCalKV step-graph variants (data/model/recalkv, train/recalkv.py) through onnxruntime-node: each equals
 * its PyTorch reference on the committed fixture (uneven per-group / per-head lengths, gathered subsets),
 * the runtime generates with a physically low-rank cache, and policies run unchanged on it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadLowRankManifest, loadNodeModel, MODEL_DIR } from "../../node/node-backend.js";
import { buildSchedule } from "../../src/lib/schedules/registry.js";
import { keptTokens, predictedBytes } from "../../src/lib/schedules/schedule.js";
import { scheduleToPolicy } from "../../src/lib/enforce/policy.js";
import { lowRankFixtureFeeds } from "../../src/lib/var/selfcheck.js";
import { LatentCache } from "../../src/lib/var/latentcache.js";
import { type LowRankManifest, latentWidths, parseLowRankManifest } from "../../src/lib/model/index.js";
import { variantFileSha } from "../../jobs/sweep.js";
import { runGenerate } from "../../jobs/generate.js";
import { stringifySchedule } from "../../src/lib/schedules/json.js";
import type { VarModel } from "../../src/lib/var/runtime.js";

const fx = JSON.parse(readFileSync(join(MODEL_DIR, "recalkv", "fixture.json"), "utf8"));
let model: VarModel;
let manifest: LowRankManifest;
beforeAll(async () => {
  model = await loadNodeModel();
  manifest = loadLowRankManifest(model.config);
});

const maxAbs = (a: ArrayLike<number>, b: number[]) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe("ReCalKV variants", () => {
  it("the manifest belongs to the shipped model and lists the exported variants", () => {
    expect(manifest.configHash).toBe(model.config.configHash);
    expect(manifest.weightsHash).toBe(model.config.weightsHash);
    expect(manifest.variants.map((v) => [v.id, v.rankRatio, v.groupSize, v.keyLatentWidth, v.valueLatentWidth])).toEqual([
      ["r75", 0.75, 2, 24, 12],
      ["r50", 0.5, 2, 16, 8],
      ["r25", 0.25, 2, 8, 4],
    ]);
    expect(Object.keys(fx.variants)).toEqual(["r75", "r50", "r25"]);
  });

  it.each(["r75", "r50", "r25"])("%s: ORT step graph equals the PyTorch low-rank reference (fixture: without and with exact entries)", async (id) => {
    const m = await model.lowRank(id);
    const v = m.variant!;
    const s = fx.variants[id];
    const { numLayers: L, numHeads: H } = model.config;
    const G = v.numGroups;
    const n = s.pos_idx.length;
    expect(s.cases.length).toBe(2);
    expect(s.cases[0].exact_lengths.every((x: number) => x === 0)).toBe(true);
    expect(s.cases[1].exact_lengths.some((x: number) => x > 0)).toBe(true);
    for (let c = 0; c < s.cases.length; c++) {
      const k = s.cases[c];
      const out = await m.runStep(lowRankFixtureFeeds(model.config, v, s, c));
      const errs = {
        logits: maxAbs(out.logits.data as Float32Array, k.logits),
        present_kz_L0: maxAbs(out.present_kz_L0.data as Float32Array, k.present_kz_L0),
        present_vz_L5: maxAbs(out.present_vz_L5.data as Float32Array, k.present_vz_L5),
        present_k_L0: maxAbs(out.present_k_L0.data as Float32Array, k.present_k_L0),
        present_v_L5: maxAbs(out.present_v_L5.data as Float32Array, k.present_v_L5),
        attn: Math.max(...Array.from({ length: L * H }, (_, i) => maxAbs(out[`attn_L${Math.floor(i / H)}_H${i % H}`].data as Float32Array, k.attn[i]))),
      };
      console.log(`${id} case ${c} max |ORT − PyTorch|:`, errs);
      for (const e of Object.values(errs)) expect(e).toBeLessThan(1e-4);
      expect(out.present_kz_L0.dims).toEqual([2, G, n, v.keyLatentWidth]);
      expect(out.present_k_L0.dims).toEqual([2, H, n, model.config.headDim]);
      // attention columns: [exact P_e, latent P_h, current n]
      expect(out.attn_L0_H0.dims).toEqual([2, k.exact_lengths[0] + s.kidx[0].length + n]);
    }
  });

  it("lowRankSelfCheck (what /compare runs before trusting WebGPU): ok on its own fixture, fails on another variant's", async () => {
    const m = await model.lowRank("r50");
    const ok = await m.lowRankSelfCheck(fx);
    expect(ok.ok).toBe(true);
    expect(ok.maxAbsLogits).toBeLessThan(1e-4);
    const r50 = fx.variants.r50;
    const bumped = { ...r50.cases[1], logits: r50.cases[1].logits.map((x: number) => x + 0.01) };
    const wrong = await m.lowRankSelfCheck({ variants: { r50: { ...r50, cases: [r50.cases[0], bumped] } } });
    expect(wrong.ok).toBe(false);
    expect(wrong.maxAbsLogits).toBeCloseTo(0.01, 4);
    await expect(m.lowRankSelfCheck({ variants: {} })).rejects.toThrow("recalkv/fixture.json: no fixture for variant r50");
    await expect(model.lowRankSelfCheck(fx)).rejects.toThrow(/full-width step graph/);
  });

  it("generates with a physically low-rank cache: bytes = rank ratio × full at every scale, same sampler", async () => {
    const full = await model.generate({ classIndex: 2, seed: 5 });
    for (const id of ["r75", "r50", "r25"]) {
      const m = await model.lowRank(id);
      const r = await m.generate({ classIndex: 2, seed: 5, onScale: (_rec, _obs, cache) => expect(cache).toBeInstanceOf(LatentCache) });
      const ratio = m.variant!.rankRatio;
      expect(r.lowRank).toBe(id);
      expect(r.scales.map((s) => s.cacheBytes)).toEqual(full.scales.map((s) => s.cacheBytes * ratio));
      expect(r.scales.map((s) => s.cacheEntries)).toEqual(full.scales.map((s) => s.cacheEntries));
      // scale 0 has no cache: its own keys/values are used at full width, so its tokens equal the full model's
      expect(r.tokens[0]).toEqual(full.tokens[0]);
      expect(r.image.every((x) => x >= 0 && x <= 1)).toBe(true);
    }
    // deterministic
    const a = await (await model.lowRank("r50")).generate({ classIndex: 1, seed: 9 });
    const b = await (await model.lowRank("r50")).generate({ classIndex: 1, seed: 9 });
    expect(a.tokens).toEqual(b.tokens);
  });

  it("exact sink scales: scales < sigma held at full width; σ = K−1 reproduces the full model; predicted = measured bytes", async () => {
    const full = await model.generate({ classIndex: 2, seed: 5 });
    const m = await model.lowRank("r50");
    const K = model.shape.numScales;
    // every cached scale exact: the same attention as the full graph (up to float rounding) → same tokens, same bytes
    const all = await m.generate({ classIndex: 2, seed: 5, sigma: K - 1 });
    expect(all.scales.map((s) => s.cacheBytes)).toEqual(full.scales.map((s) => s.cacheBytes));
    expect(all.tokens).toEqual(full.tokens);
    // σ = 3 through the recalkv schedule (the cache's σ comes from the schedule's lowRank part)
    for (const [method, b, params] of [
      ["recalkv", "60%", {}],
      ["recalkv", "50%", { sigma: 2 }],
      ["heatkv+recalkv", "30%", {}],
    ] as const) {
      const { syntheticStats } = await import("../../src/lib/schedules/synthetic.js");
      const s = buildSchedule(method, model.config, b, { lowRank: manifest, stats: syntheticStats(model.config, 3), params });
      const mm = await model.lowRank(s.lowRank!.variant);
      const r = await mm.generate({
        classIndex: 2,
        seed: 5,
        policy: scheduleToPolicy(s, model.config),
        onScale: (rec, _obs, cache) => {
          const c = cache as LatentCache;
          expect(c.sigma).toBe(s.lowRank!.sigma);
          expect(c.exactLength(0, 0), `${method} ${rec.scale}`).toBe(
            model.shape.tokensPerScale.slice(0, Math.min(rec.scale + 1, K - 1, s.lowRank!.sigma!)).reduce((a, x) => a + x, 0),
          );
        },
      });
      expect(
        r.scales.map((x) => x.cacheBytes),
        `${method} ${b}`,
      ).toEqual(predictedBytes(s).perScale);
      expect(r.tokens[0]).toEqual(full.tokens[0]);
    }
    // a schedule whose σ differs from the cache's is refused
    const s3 = buildSchedule("recalkv", model.config, "60%", { lowRank: manifest });
    await expect(m.generate({ classIndex: 0, seed: 1, sigma: 0, policy: scheduleToPolicy(s3, model.config) })).rejects.toThrow(
      /holds source scales < 3 exact \(lowRank.sigma\) but the cache holds scales < 0 exact/,
    );
  });

  it("full-width schedules (static heatkv, dynamic h2o) run unchanged on the latent cache", async () => {
    const m = await model.lowRank("r50");
    const { syntheticStats } = await import("../../src/lib/schedules/synthetic.js");
    const stats = syntheticStats(model.config, 3);
    for (const method of ["heatkv", "h2o", "scalekv"]) {
      const s = buildSchedule(method, model.config, "30%", { stats });
      const kept = keptTokens(s);
      await m.generate({
        classIndex: 0,
        seed: 2,
        policy: scheduleToPolicy(s, model.config),
        onScale: (rec, _obs, cache) => {
          if (rec.scale < 6) expect(cache.lengths(), `${method} after ${rec.scale}`).toEqual(kept[rec.scale + 1]);
        },
      });
    }
  });

  it("a low-rank schedule refuses the full-width graph, and a bad variant id fails with one line", async () => {
    const s = buildSchedule("recalkv", model.config, "60%", { lowRank: manifest });
    await expect(model.generate({ classIndex: 0, seed: 1, policy: scheduleToPolicy(s, model.config) })).rejects.toThrow(
      /the schedule is low-rank \(ReCalKV variant r50\) but the model runs the full-width step graph/,
    );
    await expect(model.lowRank("r33")).rejects.toThrow(
      /field "variant" must be one of the shipped variants r75 \(rank ratio 0.75\), r50 \(rank ratio 0.5\), r25 \(rank ratio 0.25\), got "r33"/,
    );
  });

  it("manifest of another model / bad fields: one line naming the field", () => {
    const raw = JSON.parse(readFileSync(join(MODEL_DIR, "recalkv", "recalkv.json"), "utf8"));
    expect(() => parseLowRankManifest({ ...raw, config_hash: "0000aaaa" }, model.config, "recalkv.json")).toThrow(
      /^recalkv.json: field "config_hash" is "0000aaaa" but the loaded model has "1f3e06514a65b5d2"/,
    );
    expect(() => parseLowRankManifest({ ...raw, weights_hash: "ffff" }, model.config, "recalkv.json")).toThrow(
      /field "weights_hash" .*re-run train\/recalkv.py/,
    );
    const bad = structuredClone(raw);
    bad.variants[1].groups[2][0] = [0, 0];
    expect(() => parseLowRankManifest(bad, model.config, "recalkv.json")).toThrow(/^recalkv.json: field "variants\[1\].groups\[2\]" must partition heads 0..7/);
    const wide = structuredClone(raw);
    wide.variants[0].valueLatentWidth = 17;
    expect(() => parseLowRankManifest(wide, model.config, "recalkv.json")).toThrow('recalkv.json: field "variants[0].valueLatentWidth" must be ≤ headDim = 16');
  });

  it("manifest groups must be ascending, partition the heads, and the widths must follow rankRatio", () => {
    const raw = JSON.parse(readFileSync(join(MODEL_DIR, "recalkv", "recalkv.json"), "utf8"));
    const bad = (edit: (r: typeof raw) => void) => {
      const r = structuredClone(raw);
      edit(r);
      return () => parseLowRankManifest(r, model.config, "recalkv.json");
    };
    // a group [3,1] used to load and then fail every schedule build with an error not naming recalkv.json
    expect(bad((r) => (r.variants[1].groups[0][0] = [...r.variants[1].groups[0][0]].reverse()))).toThrow(
      /^recalkv.json: field "variants\[1\].groups\[0\]" must partition heads 0..7 into groups of ascending heads, got \[2,1\] \(not ascending\)$/,
    );
    expect(
      bad(
        (r) =>
          (r.variants[0].groups[3] = [
            [0, 1],
            [2, 3],
            [4, 5],
            [6, 8],
          ]),
      ),
    ).toThrow(/^recalkv.json: field "variants\[0\].groups\[3\]" must partition heads 0..7/);
    expect(
      bad(
        (r) =>
          (r.variants[0].groups[3] = [
            [0, 1],
            [2, 3],
            [4, 5],
          ]),
      ),
    ).toThrow('recalkv.json: field "variants[0].groups[3]" must list 4 groups');
    expect(bad((r) => (r.variants[1].keyLatentWidth = 12))).toThrow(
      'recalkv.json: field "variants[1].keyLatentWidth" is 12 but rankRatio 0.5 × groupSize 2 × headDim 16 gives 16',
    );
    expect(bad((r) => (r.variants[2].valueLatentWidth = 5))).toThrow(
      'recalkv.json: field "variants[2].valueLatentWidth" is 5 but rankRatio 0.25 × headDim 16 gives 4',
    );
    expect(bad((r) => (r.variants[0].rankRatio = 0.5))).toThrow(
      'recalkv.json: field "variants[0].keyLatentWidth" is 24 but rankRatio 0.5 × groupSize 2 × headDim 16 gives 16',
    );
    expect(bad((r) => delete r.variants[0].fileSha256)).toThrow(/^recalkv.json: field "variants\[0\].fileSha256" must be the step graph's sha256/);
    // widths as train/recalkv.py computes them (Python round: half to even)
    expect(latentWidths(0.75, 2, 16)).toEqual({ keyWidth: 24, valueWidth: 12 });
    expect(latentWidths(0.15625, 1, 16)).toEqual({ keyWidth: 2, valueWidth: 2 }); // 2.5 → 2
    expect(latentWidths(0.21875, 1, 16)).toEqual({ keyWidth: 4, valueWidth: 4 }); // 3.5 → 4
    expect(latentWidths(0.01, 2, 16)).toEqual({ keyWidth: 1, valueWidth: 1 });
  });

  it("a step graph whose sha256 is not recalkv.json's fileSha256 fails to load, naming the file (sweep keys hash the file)", async () => {
    // a temp copy of the model folder (links) with its own recalkv/: the shipped files stay untouched
    const dir = mkdtempSync(join(tmpdir(), "recalkv-sha-"));
    try {
      for (const f of readdirSync(MODEL_DIR)) if (f !== "recalkv") symlinkSync(join(MODEL_DIR, f), join(dir, f));
      mkdirSync(join(dir, "recalkv"));
      for (const f of readdirSync(join(MODEL_DIR, "recalkv"))) copyFileSync(join(MODEL_DIR, "recalkv", f), join(dir, "recalkv", f));
      const raw = JSON.parse(readFileSync(join(MODEL_DIR, "recalkv", "recalkv.json"), "utf8"));
      const shipped = raw.variants[1].fileSha256 as string;
      expect(variantFileSha(MODEL_DIR, "recalkv/step_r50.onnx")).toBe(shipped);
      raw.variants[1].fileSha256 = "0123456789abcdef";
      writeFileSync(join(dir, "recalkv", "recalkv.json"), JSON.stringify(raw));
      const m = await loadNodeModel(dir);
      await expect(m.lowRank("r50")).rejects.toThrow(
        `recalkv/step_r50.onnx: sha256 ${shipped} does not match recalkv.json's fileSha256 0123456789abcdef for variant r50 — re-run train/recalkv.py`,
      );
      // the graph/manifest mismatch of a crashed run: r75's graph under r50's name (same inputs, other groups)
      raw.variants[1].fileSha256 = shipped;
      writeFileSync(join(dir, "recalkv", "recalkv.json"), JSON.stringify(raw));
      copyFileSync(join(MODEL_DIR, "recalkv", "step_r75.onnx"), join(dir, "recalkv", "step_r50.onnx"));
      await expect(m.lowRank("r50")).rejects.toThrow(/^recalkv\/step_r50.onnx: sha256 [0-9a-f]{16} does not match recalkv.json's fileSha256/);
      expect(variantFileSha(dir, "recalkv/step_r50.onnx")).toBe(raw.variants[0].fileSha256); // the sweep keys on the real file
      // the untouched variants still load
      expect((await m.lowRank("r25")).variant?.id).toBe("r25");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("heatkv generate --schedule checks a low-rank part against recalkv.json (forged but self-consistent r25 numbers under r50)", async () => {
    const s = buildSchedule("recalkv", model.config, "50%", { lowRank: manifest, params: { sigma: 0 } });
    const j = JSON.parse(stringifySchedule(s));
    j.params.rankRatio = 0.25;
    Object.assign(j.lowRank, { rankRatio: 0.25, keyWidth: 8, valueWidth: 4 }); // variant stays r50
    const dir = mkdtempSync(join(tmpdir(), "recalkv-gen-"));
    try {
      const path = join(dir, "forged.json");
      writeFileSync(path, JSON.stringify(j));
      const o = { seed: 1, cfg: 4, topK: 0, topP: 1, temperature: 1, out: join(dir, "x.png"), grid: false, zoom: 1, schedule: path };
      await expect(runGenerate(model, o, () => {})).rejects.toThrow(`${path}: field "lowRank.rankRatio" is 0.25 but variant r50 in recalkv.json has 0.5`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

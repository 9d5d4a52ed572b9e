// Issue #13 in the jobs: calibration checks its output before any work (writable, not locked by another
// writer), cleans stale merge temp files, writes its two files as one unit that readers check and names the
// token file; sweep/tune take the output lock; generate fails (and writes nothing) when measured bytes differ
// from the prediction; onnxruntime's own log is silent and our error names the graph file.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { calibrate } from "../../jobs/calibrate.js";
import { checkMeasuredBytes, runGenerate } from "../../jobs/generate.js";
import { runSchedule } from "../../jobs/schedule.js";
import { sweep } from "../../jobs/sweep.js";
import { checkSigmas, tune } from "../../jobs/tune.js";
import { acquireLock, lockPathFor } from "../../node/lock.js";
import { loadNodeModel } from "../../node/node-backend.js";
import { readScaleMass, tokensPath } from "../../node/stats-store.js";
import { manifestPathFor } from "../../node/store-unit.js";
import { parseScheduleJson } from "../../src/lib/schedules/index.js";
import type { VarModel } from "../../src/lib/var/runtime.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "heatkv-rel-"));
let model: VarModel;
beforeAll(async () => void (model = await loadNodeModel()));

describe("calibration output", () => {
  it("a read-only output folder fails before any prompt is computed, naming the folder", async () => {
    const logs: string[] = [];
    await expect(calibrate({ out: "/sys/heatkv-test/attention.parquet", classes: [0], seeds: [1], progress: false, log: (s) => logs.push(s) })).rejects.toThrow(
      /^\/sys\/heatkv-test: cannot create folder \(/,
    );
    expect(logs).toEqual([]); // never got to "calibrate: 1 prompts …"
  });

  it("a second writer of the same store fails at once, naming the lock and the pid", async () => {
    const out = join(dir, "locked", "attention.parquet");
    const lock = acquireLock(out, "heatkv calibrate");
    try {
      await expect(calibrate({ out, classes: [0], seeds: [1], progress: false, log: () => {} })).rejects.toThrow(
        `${lockPathFor(out)}: locked by pid ${process.pid} (heatkv calibrate`,
      );
    } finally {
      lock.release();
    }
  });

  it("cleans stale merge temp files, writes both files + a manifest (naming the token file), and readers check the unit", async () => {
    const out = join(dir, "unit", "attention.parquet");
    const stale = `${out}.2147483646.tmp`; // a merge of a writer that died
    const staleTokens = `${tokensPath(out)}.2147483646.tmp`;
    const logs: string[] = [];
    await calibrate({ out, classes: [0], seeds: [1], progress: false, log: () => {} }); // creates the folder
    writeFileSync(stale, "partial");
    writeFileSync(staleTokens, "partial");
    await calibrate({ out, classes: [0], seeds: [1], progress: false, log: (s) => logs.push(s) });
    expect(existsSync(stale) || existsSync(staleTokens)).toBe(false);
    expect(readdirSync(join(dir, "unit")).sort()).toEqual([
      "attention.manifest.json",
      "attention.parquet",
      "attention.parquet.shards",
      "attention_tokens.parquet",
    ]);
    expect(logs.join("\n")).toContain(tokensPath(out));
    await readScaleMass(out, model.config); // a whole unit reads
    // an old token file beside a new scale file (a kill between the two renames): refused, naming the file
    writeFileSync(tokensPath(out), readFileSync(tokensPath(out)).subarray(0, 100));
    await expect(readScaleMass(out, model.config)).rejects.toThrow(`${tokensPath(out)}: is 100 bytes, ${manifestPathFor(out)} says`);
    // files without their manifest (a kill after it was removed): refused with how to redo it
    writeFileSync(manifestPathFor(out), "");
    await expect(readScaleMass(out, model.config)).rejects.toThrow(/not valid JSON/);
    await calibrate({ out, classes: [0], seeds: [1], progress: false, log: () => {} }); // redo: resumes from shards
    await readScaleMass(out, model.config);
  });
});

describe("sweep and tune outputs", () => {
  it("sweep holds <out>.lock: a second sweep of the same output fails at once", async () => {
    const out = join(dir, "sw", "sweep.parquet");
    const lock = acquireLock(out, "heatkv sweep");
    try {
      await expect(sweep({ methods: ["uniform"], out, classes: [0], seeds: [101], progress: false, log: () => {} })).rejects.toThrow(
        `${lockPathFor(out)}: locked by pid ${process.pid} (heatkv sweep`,
      );
    } finally {
      lock.release();
    }
  });

  it("tune: σ outside [0, K−2] is refused before any work; tune holds <out>.lock", async () => {
    expect(() => checkSigmas([0, 9], 7)).toThrow("--sigmas: σ = 9 is outside [0, 5] for heatkv on this model (K = 7 scales");
    expect(() => checkSigmas([], 7)).toThrow("--sigmas: no σ to search");
    const out = join(dir, "tuned.json");
    const lock = acquireLock(out, "heatkv tune");
    try {
      await expect(tune({ metric: "psnr", target: 10, method: "uniform", out, log: () => {} })).rejects.toThrow(`${lockPathFor(out)}: locked by pid`);
    } finally {
      lock.release();
    }
  });
});

describe("generate", () => {
  it("measured bytes ≠ predicted bytes fails with the scale and both numbers, and writes no image", async () => {
    const sched = join(dir, "u.json");
    await runSchedule(model.config, { method: "uniform", budget: "30%", stats: join(dir, "none.parquet"), params: [], fp16: false, out: sched }, () => {});
    const schedule = parseScheduleJson(readFileSync(sched, "utf8"), model.config, sched);
    // a cache that holds one entry more than the schedule allows at scale 3
    const leaky = Object.create(model) as VarModel;
    leaky.generate = async (o) => {
      const r = await model.generate(o);
      r.scales[3].cacheBytes += 4;
      return r;
    };
    const png = join(dir, "leak.png");
    await expect(
      runGenerate(leaky, { seed: 1, cfg: 3, topK: 0, topP: 0.95, temperature: 1, out: png, grid: false, zoom: 1, schedule: sched }, () => {}),
    ).rejects.toThrow(/u\.json: measured KV cache bytes differ from the schedule's prediction \(class 0 seed 1, scale 3: measured \d+ B, predicted \d+ B\)/);
    expect(existsSync(png)).toBe(false);
    // and the honest cache passes
    const r = await model.generate({ classIndex: 0, seed: 1, cfg: 3, topK: 0, topP: 0.95, temperature: 1 });
    expect(() => checkMeasuredBytes([r], schedule, sched)).toThrow(); // full cache vs a 30 % schedule
  });

  it("generate --schedule prints the seed and the image metrics against the full-cache image of the same seed", async () => {
    const run = async (budget: string) => {
      const sched = join(dir, `u-${budget.replace("%", "")}.json`);
      await runSchedule(model.config, { method: "uniform", budget, stats: join(dir, "none.parquet"), params: [], fp16: false, out: sched }, () => {});
      const lines: string[] = [];
      await runGenerate(model, { seed: 5, cfg: 3, topK: 0, topP: 0.95, temperature: 1, out: join(dir, "g.png"), grid: false, zoom: 1, schedule: sched }, (l) =>
        lines.push(l),
      );
      return lines.find((l) => /vs the full-cache image of the same seed/.test(l)) ?? "";
    };
    // a schedule that keeps everything reproduces the full-cache image exactly
    expect(await run("100%")).toMatch(
      /seed 5 vs the full-cache image of the same seed: PSNR ∞ \(identical\), SSIM 1\.0000, tokens equal per scale (100 % ){6}100 %$/,
    );
    const low = await run("10%");
    const db = Number(/PSNR ([\d.]+) dB/.exec(low)?.[1]);
    expect(db).toBeGreaterThan(5);
    expect(db).toBeLessThan(60);
  });

  it("onnxruntime's own log is silent; the error is one line naming the graph file", async () => {
    const script = join(dir, "ort.mts");
    writeFileSync(
      script,
      `import { nodeBackend } from ${JSON.stringify(join(ROOT, "node", "node-backend.ts"))};
import { readFileSync } from "node:fs";
const s = await nodeBackend(1).load(new Uint8Array(readFileSync(${JSON.stringify(join(ROOT, "data", "model", "vq_update.onnx"))})), "vq_update.onnx");
try {
  await s.run({ f_hat: { data: new Float32Array(32 * 8 * 8), dims: [1, 32, 8, 8] }, idx: { data: BigInt64Array.from([99999n]), dims: [1, 1] }, scale: { data: BigInt64Array.from([0n]), dims: [1] } });
} catch (e) { console.log(e.message); }
`,
    );
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((ok) =>
      execFile(join(ROOT, "node_modules", ".bin", "tsx"), [script], { cwd: ROOT, timeout: 60_000 }, (_e, stdout, stderr) =>
        ok({ stdout: String(stdout), stderr: String(stderr) }),
      ),
    );
    expect(stderr).not.toMatch(/onnxruntime/);
    expect(stdout.trim()).toMatch(/^vq_update\.onnx: onnxruntime run failed \(.*indices element out of data bounds.*\)$/);
  });
});

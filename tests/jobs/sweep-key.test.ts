// The sweep's resume key covers everything a row depends on: re-running into the same output with other seeds,
// classes or sampler settings must recompute, never reuse the old cells; the same settings must reuse them.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cellsPath, pairedPath, type SweepOptions, sweep } from "../../jobs/sweep.js";

describe("sweep resume key", () => {
  it("changing the seeds, the classes or any sampler setting recomputes; the same settings reuse every cell", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "heatkv-sweep-key-")), "sweep.parquet");
    const base = { methods: ["uniform"], budgets: [0.5], classes: [0], seeds: [101], out, progress: false, log: () => {} };
    const first = await sweep(base);
    expect(first).toMatchObject({ complete: true, cells: 2, computed: 2, reused: 0 });
    for (const [what, o] of [
      ["seeds", { seeds: [102] }],
      ["classes", { classes: [1] }],
      ["top-p", { settings: { topP: 0.9 } }],
      ["cfg", { settings: { cfg: 2 } }],
      ["temperature", { settings: { temperature: 0.9 } }],
      ["sampler", { settings: { sampler: "inverse-cdf" } }],
    ] as [string, Partial<SweepOptions>][]) {
      const r = await sweep({ ...base, ...o });
      expect(r.reused, what).toBe(0);
      expect(r.computed, what).toBe(2);
    }
    expect(await sweep(base)).toMatchObject({ complete: true, computed: 0, reused: 2 });
  }, 240_000);

  it("removes the temp files a dead writer left beside each output of the unit (per-image, cells, paired)", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "heatkv-sweep-tmp-")), "sweep.parquet");
    const stale = [out, cellsPath(out), pairedPath(out)].map((p) => `${p}.2147483646.tmp`);
    for (const f of stale) writeFileSync(f, "partial");
    await sweep({ methods: ["uniform"], budgets: [0.5], classes: [0], seeds: [101], out, progress: false, log: () => {} });
    expect(stale.filter((f) => existsSync(f))).toEqual([]);
  }, 120_000);
});

// Pure helpers of the site's browser modules (no DOM needed) and the prefill's stale-output rule.
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dropStaleLoaderOutputs } from "../../tools/prefill-framework-cache.js";
import { formatBytes, formatMs } from "../../src/lib/site/format.js";
import { chwToRgba, maxAbsDiff, tensorStats } from "../../src/lib/site/tensor.js";
import { PER_SCALE_SQL, TOTALS_SQL } from "../../src/lib/site/system-check.js";

describe("tensor helpers", () => {
  it("summarises a tensor and counts non-finite values", () => {
    const s = tensorStats([0, 1, 2, 3, NaN, Infinity]);
    expect(s).toMatchObject({ count: 6, min: 0, max: 3, mean: 1.5, nonFinite: 2 });
    expect(s.std).toBeCloseTo(Math.sqrt(1.25));
  });

  it("converts CHW [0,1] floats to clamped RGBA bytes", () => {
    // 1×2 image: R plane [0, 1], G plane [0.5, 2], B plane [-1, 0.25]
    const rgba = chwToRgba([0, 1, 0.5, 2, -1, 0.25], 1, 2);
    expect([...rgba]).toEqual([0, 128, 0, 255, 255, 255, 64, 255]);
    expect(() => chwToRgba([0, 1], 1, 2)).toThrow();
  });

  it("measures the largest absolute difference", () => {
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 2])).toBe(1);
    expect(maxAbsDiff([1], [1, 2])).toBe(Infinity);
  });
});

describe("formatting", () => {
  it("uses binary units and readable times", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1_118_208)).toBe("1.07 MiB");
    expect(formatMs(3.14159)).toBe("3.14 ms");
    expect(formatMs(2500)).toBe("2.50 s");
  });
});

describe("system page SQL", () => {
  it("only reads the cache_shape table", () => {
    for (const sql of [PER_SCALE_SQL, TOTALS_SQL]) expect(sql).toMatch(/FROM cache_shape/);
  });
});

describe("prefill: stale loader outputs", () => {
  it("drops cached outputs older than data/, jobs/, node/ or src/lib/, and keeps npm caches", () => {
    const root = mkdtempSync(join(tmpdir(), "heatkv-prefill-"));
    const cache = join(root, "src", ".observablehq", "cache");
    for (const d of [join(root, "data", "model"), join(root, "jobs"), join(cache, "data"), join(cache, "_npm", "d3@7.9.2")]) {
      mkdirSync(d, { recursive: true });
    }
    const old = new Date(Date.now() - 60_000);
    const output = join(cache, "data", "x.parquet");
    const npm = join(cache, "_npm", "d3@7.9.2", "_esm.js");
    writeFileSync(output, "x");
    writeFileSync(npm, "x");
    utimesSync(output, old, old);
    utimesSync(npm, old, old);
    writeFileSync(join(root, "jobs", "a.ts"), "");
    utimesSync(join(root, "jobs", "a.ts"), new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    expect(dropStaleLoaderOutputs(root)).toEqual([]);
    writeFileSync(join(root, "data", "model", "config.json"), "{}"); // newer input
    expect(dropStaleLoaderOutputs(root)).toEqual([join("src", ".observablehq", "cache", "data", "x.parquet")]);
    expect(existsSync(output)).toBe(false);
    expect(existsSync(npm)).toBe(true);
  });
});

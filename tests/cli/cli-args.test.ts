// The CLI's number parsers (cli/cli-args.ts) and seed lists (jobs/generate.ts parseSeeds): integers as
// written (no "1e3", "0x10", "" or 1.5), seeds unsigned 32-bit without aliasing, seed lists bounded; and a
// sweep parameter typo refused before any work (jobs/sweep.ts).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { int, MAX_SEED } from "../../cli/cli-args.js";
import { MAX_SEEDS, parseSeeds } from "../../jobs/generate.js";
import { sweep } from "../../jobs/sweep.js";

describe("CLI integers and seeds", () => {
  it("integers are strict decimal and bounded, never aliased", () => {
    const seed = int("--seed", 0, MAX_SEED);
    expect(seed("42")).toBe(42);
    expect(seed(String(MAX_SEED))).toBe(4294967295);
    for (const bad of ["", " ", "1e3", "0x10", "1.5", "abc"]) expect(() => seed(bad), bad).toThrow(/--seed must be an integer, got/);
    expect(() => seed("4294967296")).toThrow('--seed must be an integer in [0, 4294967295], got "4294967296"');
    expect(() => seed("-1")).toThrow(/in \[0, 4294967295\]/);
  });

  it("seed lists: unsigned 32-bit, bounded in length, no repeats", () => {
    expect(parseSeeds("1-3,7")).toEqual([1, 2, 3, 7]);
    expect(() => parseSeeds("4294967296")).toThrow(/outside the seed range 0\.\.4294967295/);
    expect(() => parseSeeds(`1-${MAX_SEEDS + 1}`)).toThrow(new RegExp(`at most ${MAX_SEEDS}`));
    expect(() => parseSeeds("1,1")).toThrow(/names a seed twice/);
    expect(() => parseSeeds("3-1")).toThrow(/is empty/);
  });

  it("a sweep parameter typo is refused before any work", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "heatkv-typo-")), "sweep.parquet");
    const t0 = performance.now();
    await expect(sweep({ methods: ["heatkv:sigma=abc"], out, log: () => {} })).rejects.toThrow(/--methods heatkv:sigma=abc/);
    expect(performance.now() - t0).toBeLessThan(5000); // no model load, no calibration
  });
});

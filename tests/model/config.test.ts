import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { computeConfigHash, fullCacheBytes, modelShape, parseConfig, resolveClass } from "../../src/lib/model/index.js";

const raw = JSON.parse(readFileSync(new URL("../../data/model/config.json", import.meta.url), "utf8"));

describe("config", () => {
  it("parses the shipped config and derives every shape from it", () => {
    const cfg = parseConfig(raw);
    const s = modelShape(cfg);
    expect(s.tokensPerScale).toEqual(cfg.patchNums.map((p) => p * p));
    expect(s.totalTokens).toBe(raw.total_tokens);
    // C_max excludes the last scale: 1+4+9+16+25+36 for patch_nums 1..6,8
    expect(s.maxCacheTokens).toBe(s.totalTokens - cfg.latentSize ** 2);
    expect(s.cacheTokensEntering[0]).toBe(0);
    expect(s.numHeadsTotal).toBe(cfg.numLayers * cfg.numHeads);
  });

  it("recomputes config_hash as train/export.py does (Python json.dumps, sorted keys, ensure_ascii)", () => {
    expect(computeConfigHash(raw)).toBe(raw.config_hash);
    // computed with Python's hashlib/json (export.py's config_hash) for a non-ASCII id and other patch_nums
    expect(computeConfigHash({ ...raw, model_id: "émoji-var ✓ 😀", patch_nums: [1, 2, 4, 8] })).toBe("cdb40bf23d2b3b69");
  });

  it("refuses a shape edited under the exported config_hash, naming the field", () => {
    expect(() => parseConfig({ ...raw, patch_nums: [1, 2, 3, 4, 5, 6, 7, 8], total_tokens: undefined }, "m/config.json")).toThrow(
      /m\/config\.json: field "config_hash" is "1f3e06514a65b5d2" but the config's shape fields .* hash to "/,
    );
    expect(() => parseConfig({ ...raw, num_heads: 4, width: undefined })).toThrow(/field "config_hash"/);
    // fields outside the hash (class names, the files) may change
    expect(parseConfig({ ...raw, classes: raw.classes.map((c: string) => c.toUpperCase()) }).classes[0]).toBe(raw.classes[0].toUpperCase());
  });

  it("matches docs/methods.md's Infinity-2B cache size (C_max = 6425)", () => {
    const pn = [1, 2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64];
    expect(modelShape({ patchNums: pn, numLayers: 32, numHeads: 16, headDim: 128 }).maxCacheTokens).toBe(6425);
  });

  it("full-cache bytes = 2 · L · H · d · C_max · 4 B · 2 CFG rows", () => {
    const cfg = parseConfig(raw);
    expect(fullCacheBytes(cfg)).toBe(2 * cfg.numLayers * cfg.numHeads * cfg.headDim * modelShape(cfg).maxCacheTokens * 4 * 2);
    expect(fullCacheBytes(cfg, 2, 1)).toBe(fullCacheBytes(cfg) / 4);
  });

  it.each([
    ["num_layers", 0, /"num_layers" must be a positive integer/],
    ["patch_nums", [1, 3, 2, 8], /"patch_nums\[2\]" must be a strictly increasing/],
    ["patch_nums", [1, 2, 4], /"patch_nums" must end at latent_size/],
    ["classes", ["a"], /"classes" must list 9 class names/],
    ["config_hash", "zz", /"config_hash" must be a hex string/],
    ["total_tokens", 7, /"total_tokens" disagrees/],
  ])("rejects a bad %s with an error naming file and field", (field, value, re) => {
    expect(() => parseConfig({ ...raw, [field]: value }, "data/model/config.json")).toThrow(re);
    expect(() => parseConfig({ ...raw, [field]: value }, "data/model/config.json")).toThrow(/^data\/model\/config\.json: /);
  });

  it("resolves classes by index, name, unique prefix or word", () => {
    const cfg = parseConfig(raw);
    expect(resolveClass(cfg, 0)).toBe(0);
    expect(resolveClass(cfg, "8")).toBe(8);
    expect(resolveClass(cfg, "Flags")).toBe(cfg.classes.indexOf("Flags"));
    expect(resolveClass(cfg, "food")).toBe(cfg.classes.indexOf("Food & Drink"));
    expect(() => resolveClass(cfg, "nope")).toThrow(/unknown class "nope"/);
    expect(() => resolveClass(cfg, 99)).toThrow(/unknown class index 99/);
  });
});

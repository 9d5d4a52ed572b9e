import { describe, expect, it } from "vitest";
import { checkedShape, prefixTokens } from "../../src/lib/schedules/shape.js";
import { TINY, demoConfig } from "./helpers.js";

describe("checkedShape", () => {
  it("derives C_t / C_max from the one config", () => {
    const s = checkedShape(demoConfig());
    expect(s.tokensPerScale).toEqual([1, 4, 9, 16, 25, 36, 64]);
    expect(s.maxCacheTokens).toBe(91);
    expect(prefixTokens(s, 3)).toBe(14);
    expect(prefixTokens(s, 0)).toBe(0);
  });
  it("rejects bad shapes in one line", () => {
    expect(() => checkedShape({ ...TINY, patchNums: [1] })).toThrow('model: field "patchNums" must list 2..31 scales, got [1]');
    expect(() => checkedShape({ ...TINY, patchNums: Array.from({ length: 32 }, (_, i) => i + 1) })).toThrow(/must list 2..31 scales/);
    expect(() => checkedShape({ ...TINY, headDim: 1.5 })).toThrow('model: field "headDim" must be a positive integer, got 1.5');
    expect(() => checkedShape({ ...TINY, configHash: "" })).toThrow('model: field "configHash" must be a non-empty string, got ""');
  });
});

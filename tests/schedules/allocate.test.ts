import { describe, expect, it } from "vitest";
import { allocate, dynamicCounts, firstCompressedTarget } from "../../src/lib/schedules/allocate.js";
import { modelShape } from "../../src/lib/model/index.js";
import { TINY } from "./helpers.js";

describe("allocate", () => {
  it("splits proportionally, rounds down, leftover by largest fraction (ties → lower index)", () => {
    expect(Array.from(allocate(10, [1, 1, 1], [99, 99, 99]))).toEqual([4, 3, 3]);
    expect(Array.from(allocate(10, [1, 3], [99, 99]))).toEqual([3, 7]); // 2.5, 7.5 → 2, 7 + 1 to index 0 (tie .5/.5)
    expect(Array.from(allocate(28, [0.5, 1.5, 1.5, 0.5], [14, 14, 14, 14]))).toEqual([4, 11, 10, 3]);
  });
  it("water-fills around caps and never exceeds them", () => {
    // shares 13.65/13.65/0.35/0.35 all under the cap 14
    expect(Array.from(allocate(28, [1.95, 1.95, 0.05, 0.05], [14, 14, 14, 14]))).toEqual([14, 14, 0, 0]);
    // first item capped at 2, the rest re-split: 8 over weights 1,1 → 4,4
    expect(Array.from(allocate(10, [10, 1, 1], [2, 20, 20]))).toEqual([2, 4, 4]);
    expect(Array.from(allocate(100, [1, 1], [3, 5]))).toEqual([3, 5]);
  });
  it("zero weights or caps get nothing; total ≤ requested", () => {
    expect(Array.from(allocate(6, [0, 1, 1], [9, 9, 0]))).toEqual([0, 6, 0]);
    expect(Array.from(allocate(6.9, [1, 1], [9, 9]))).toEqual([3, 3]);
    expect(Array.from(allocate(0, [1, 1], [9, 9]))).toEqual([0, 0]);
  });
});

describe("dynamicCounts", () => {
  const shape = modelShape(TINY); // C_t = 0, 1, 5, 14
  it("keeps everything while it fits, then allocates the limit within what each head still holds", () => {
    const c = dynamicCounts(shape, 4, 19, () => [1, 1, 1, 1]);
    // t=2: 20 > 19 → 4.75 each → 4,4,4,4 + leftover 3 → 5,5,5,4; t=3: avail 14,14,14,13 → same split
    expect(Array.from(c)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 5, 5, 5, 4, 5, 5, 5, 4]);
    expect(firstCompressedTarget(shape, 4, 19)).toBe(2);
    expect(firstCompressedTarget(shape, 4, 56)).toBe(4);
  });
  it("availability caps: a head that was cut cannot grow beyond kept + the new scale", () => {
    // weights favour head 0 at t = 3 only
    const c = dynamicCounts(shape, 2, 6, (t) => (t === 3 ? [100, 1] : [1, 100]));
    // t=1: avail 1,1 fits; t=2: avail 5,5 = 10 > 6 → weights [1,100] → [0, 5]+... head1 capped at 5, head0 gets 1
    expect(Array.from(c.slice(4, 6))).toEqual([1, 5]);
    // t=3: avail [1+9, 5+9] = [10, 14]; weights [100, 1] → head 0 takes min(10, 6) = 6
    expect(Array.from(c.slice(6, 8))).toEqual([6, 0]);
  });
});

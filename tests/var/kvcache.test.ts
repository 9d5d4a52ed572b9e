import { describe, expect, it } from "vitest";
import { KVCache } from "../../src/lib/var/kvcache.js";

function present(rows: number, H: number, n: number, d: number, base: number) {
  const data = new Float32Array(rows * H * n * d);
  for (let i = 0; i < data.length; i++) data[i] = base + i;
  return { data, dims: [rows, H, n, d] };
}

describe("KVCache", () => {
  it("appends per head, keeps metadata, and counts bytes from the typed arrays", () => {
    const c = new KVCache(2, 3, 4, 2);
    c.appendLayer(0, present(2, 3, 1, 4, 0), present(2, 3, 1, 4, 1000), 0);
    c.appendLayer(0, present(2, 3, 4, 4, 100), present(2, 3, 4, 4, 2000), 1);
    expect(c.length(0, 0)).toBe(5);
    expect(c.length(1, 0)).toBe(0);
    expect(Array.from(c.head(0, 1).scale)).toEqual([0, 1, 1, 1, 1]);
    expect(Array.from(c.head(0, 1).token)).toEqual([0, 0, 1, 2, 3]);
    // bytes = entries × 2 (K,V) × d × 4 B × rows
    expect(c.bytes()).toBe(3 * 5 * 2 * 4 * 4 * 2);
    // row 1 of head 2 at entry 0 comes from present[1, 2, 0, :] of the first append
    const h2 = c.head(0, 2);
    expect(Array.from(h2.k.subarray((1 * 5 + 0) * 4, (1 * 5 + 0) * 4 + 4))).toEqual([20, 21, 22, 23]);
  });

  it("keep() physically shrinks the arrays and keeps the right rows", () => {
    const c = new KVCache(1, 2, 2, 2);
    c.appendLayer(0, present(2, 2, 4, 2, 0), present(2, 2, 4, 2, 500), 3);
    const before = c.bytes();
    c.keep(0, 1, [1, 3]);
    const h = c.head(0, 1);
    expect(h.k.length).toBe(2 * 2 * 2);
    expect(Array.from(h.token)).toEqual([1, 3]);
    // row 0, head 1, token 1 → present index ((0*2+1)*4+1)*2 = 10
    expect(Array.from(h.k.subarray(0, 2))).toEqual([10, 11]);
    // row 1, head 1, token 3 → ((1*2+1)*4+3)*2 = 30
    expect(Array.from(h.k.subarray(6, 8))).toEqual([30, 31]);
    expect(c.bytes()).toBe(before - 2 * 2 * 2 * 4 * 2);
    expect(c.feeds()["past_k_L0_H1"].dims).toEqual([2, 2, 2]);
    c.keepWhere(0, 0, () => false);
    expect(c.length(0, 0)).toBe(0);
    expect(c.feeds()["past_v_L0_H0"].dims).toEqual([2, 0, 2]);
  });

  it("rejects bad indices and shapes", () => {
    const c = new KVCache(1, 1, 2, 1);
    c.appendLayer(0, present(1, 1, 3, 2, 0), present(1, 1, 3, 2, 0), 0);
    expect(() => c.keep(0, 0, [2, 1])).toThrow(/strictly increasing/);
    // a duplicate index would keep one entry twice (and count its bytes twice)
    expect(() => c.keep(0, 0, [1, 1])).toThrow(/strictly increasing integers in \[0, 3\), got 1 at 1/);
    expect(() => c.keep(0, 0, [0.5])).toThrow(/strictly increasing integers/);
    expect(() => c.keep(0, 0, [3])).toThrow(/\[0, 3\)/);
    expect(() => c.head(1, 0)).toThrow(/no \(layer 1, head 0\)/);
    expect(() => c.appendLayer(0, present(1, 2, 3, 2, 0), present(1, 2, 3, 2, 0), 1)).toThrow(/expected \[1, 1, n, 2\]/);
    expect(() => new KVCache(0, 1, 1, 1)).toThrow(/numLayers/);
  });
});

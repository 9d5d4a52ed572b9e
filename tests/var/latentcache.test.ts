/** LatentCache (ReCalKV low-rank cache): hand-checked storage, union compaction, index lists and bytes. */
import { describe, expect, it } from "vitest";
import { KVCache } from "../../src/lib/var/kvcache.js";
import { LatentCache } from "../../src/lib/var/latentcache.js";

const t = (data: number[], dims: number[]) => ({ data: Float32Array.from(data), dims });
const arr = (a: ArrayLike<number | bigint> | null) => (a === null ? null : Array.from(a as ArrayLike<number>, Number));

describe("LatentCache", () => {
  // 1 layer, heads 0 and 1 in one group, key width 2, value width 1, one row
  const make = () => new LatentCache(1, 2, { keyWidth: 2, valueWidth: 1, groups: [[[0, 1]]] }, 1);

  it("appends group key latents and per-head value latents; bytes = what the arrays hold", () => {
    const c = make();
    c.appendLayer(0, t([1, 2], [1, 1, 1, 2]), t([10, 20], [1, 2, 1, 1]), 0);
    c.appendLayer(0, t([3, 4, 5, 6], [1, 1, 2, 2]), t([11, 12, 21, 22], [1, 2, 2, 1]), 1);
    expect(arr(c.group(0, 0).kz)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(arr(c.head(0, 1).scale)).toEqual([0, 1, 1]);
    expect(arr(c.head(0, 1).token)).toEqual([0, 0, 1]);
    expect(c.lengths()).toEqual([3, 3]);
    // 3 entries × 2 (key latent, shared) + 2 heads × 3 × 1 (value latents), × 4 B; no index (identity)
    expect(c.bytes()).toBe(6 * 4 + 3 * 4 + 3 * 4);
    expect(c.indexOf(0, 0)).toBeNull();
  });

  it("keeps the union of the group's entries, compacts what no head uses, drops identity indices", () => {
    const c = make();
    c.appendLayer(0, t([1, 2], [1, 1, 1, 2]), t([10, 20], [1, 2, 1, 1]), 0);
    c.appendLayer(0, t([3, 4, 5, 6], [1, 1, 2, 2]), t([11, 12, 21, 22], [1, 2, 2, 1]), 1);
    c.keep(0, 0, [0, 2]);
    // head 1 still uses all 3 rows: the group latent is unchanged, head 0 holds an index [0, 2]
    expect(arr(c.group(0, 0).kz)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(arr(c.indexOf(0, 0))).toEqual([0, 2]);
    expect(arr(c.head(0, 0).scale)).toEqual([0, 1]);
    expect(c.bytes()).toBe(24 + 2 * 4 + 3 * 4 + 2 * 4);
    c.keep(0, 1, [2]);
    // union {0, 2}: row 1 (token 0 of scale 1) is gone; head 0 now holds all rows → no index
    expect(arr(c.group(0, 0).kz)).toEqual([1, 2, 5, 6]);
    expect(arr(c.group(0, 0).token)).toEqual([0, 1]);
    expect(c.indexOf(0, 0)).toBeNull();
    expect(arr(c.indexOf(0, 1))).toEqual([1]);
    expect(c.bytes()).toBe(16 + 2 * 4 + 1 * 4 + 1 * 4);
    const f = c.feeds();
    expect(f.past_kz_L0_G0.dims).toEqual([1, 2, 2]);
    expect(arr(f.kidx_L0_H0.data)).toEqual([0, 1]);
    expect(arr(f.kidx_L0_H1.data)).toEqual([1]);
    expect(arr(f.past_vz_L0_H0.data)).toEqual([10, 12]);
    expect(arr(f.past_vz_L0_H1.data)).toEqual([22]);
    // next scale: new rows are appended for every head; head 1's index continues after the group
    c.appendLayer(0, t([7, 8], [1, 1, 1, 2]), t([13, 23], [1, 2, 1, 1]), 2);
    expect(arr(c.group(0, 0).kz)).toEqual([1, 2, 5, 6, 7, 8]);
    expect(c.indexOf(0, 0)).toBeNull();
    expect(arr(c.indexOf(0, 1))).toEqual([1, 2]);
    expect(arr(c.head(0, 1).scale)).toEqual([1, 2]);
    expect(c.bytes()).toBe(24 + 3 * 4 + 2 * 4 + 2 * 4);
    c.keepWhere(0, 0, (s) => s === 2);
    // union {1, 2} → rows [5,6],[7,8]; head 1 holds both (identity), head 0 row 1
    expect(arr(c.group(0, 0).kz)).toEqual([5, 6, 7, 8]);
    expect(arr(c.indexOf(0, 0))).toEqual([1]);
    expect(c.indexOf(0, 1)).toBeNull();
    expect(arr(c.feeds().past_vz_L0_H0.data)).toEqual([13]);
    expect(c.bytes()).toBe(16 + 4 + 4 + 2 * 4);
    expect(c.entries()).toBe(3);
  });

  it("lays rows out [rows, P, width] as the graph wants (CFG rows)", () => {
    const c = new LatentCache(1, 2, { keyWidth: 1, valueWidth: 1, groups: [[[0, 1]]] }, 2);
    // present_kz [rows=2, G=1, n=2, 1]; present_vz [2, H=2, 2, 1]
    c.appendLayer(0, t([1, 2, 101, 102], [2, 1, 2, 1]), t([10, 11, 20, 21, 110, 111, 120, 121], [2, 2, 2, 1]), 0);
    c.keep(0, 0, [1]);
    c.keep(0, 1, [1]);
    expect(arr(c.group(0, 0).kz)).toEqual([2, 102]);
    expect(arr(c.feeds().past_vz_L0_H1.data)).toEqual([21, 121]);
    expect(c.bytes()).toBe(2 * 4 + 2 * 2 * 4);
  });

  it("is a CacheStore like KVCache: the same keep calls leave the same entries", () => {
    const lc = new LatentCache(1, 2, { keyWidth: 2, valueWidth: 1, groups: [[[0, 1]]] }, 1);
    const kv = new KVCache(1, 2, 2, 1);
    lc.appendStep({ present_kz_L0: t([0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 4, 2]), present_vz_L0: t(new Array(8).fill(0), [1, 2, 4, 1]) }, 3);
    kv.appendStep({ present_k_L0: t(new Array(16).fill(0), [1, 2, 4, 2]), present_v_L0: t(new Array(16).fill(0), [1, 2, 4, 2]) }, 3);
    for (const c of [lc, kv]) {
      c.keepWhere(0, 0, (_s, tok) => tok % 2 === 0);
      c.keep(0, 1, [3]);
    }
    expect(lc.lengths()).toEqual(kv.lengths());
    expect(arr(lc.head(0, 0).token)).toEqual(arr(kv.head(0, 0).token));
  });

  it("rejects bad layouts, shapes and indices with one line", () => {
    expect(() => new LatentCache(1, 2, { keyWidth: 2, valueWidth: 1, groups: [[[0, 0]]] }, 1)).toThrow(/groups\[0\] must partition heads 0..1/);
    expect(() => new LatentCache(1, 2, { keyWidth: 0, valueWidth: 1, groups: [[[0, 1]]] }, 1)).toThrow(/keyWidth must be a positive integer/);
    const c = make();
    expect(() => c.appendLayer(0, t([1, 2, 3], [1, 1, 1, 3]), t([1, 2], [1, 2, 1, 1]), 0)).toThrow(/expected kz \[1, 1, n, 2\]/);
    c.appendLayer(0, t([1, 2], [1, 1, 1, 2]), t([10, 20], [1, 2, 1, 1]), 0);
    expect(() => c.keep(0, 0, [1])).toThrow(/strictly increasing integers in \[0, 1\)/);
    expect(() => c.head(1, 0)).toThrow(/no \(layer 1, head 0\)/);
  });
});

describe("LatentCache with exact sink scales (sigma > 0)", () => {
  // 1 layer, heads 0 and 1 in one group, key width 2, value width 1, head dim 3, one row; scale 0 exact
  const make = () => new LatentCache(1, 2, { keyWidth: 2, valueWidth: 1, groups: [[[0, 1]]] }, 1, { sigma: 1, headDim: 3 });
  const fill = (c: LatentCache) => {
    // scale 0 (n = 1): exact k, v [1, 2 heads, 1, 3]
    c.appendStep({ present_k_L0: t([1, 2, 3, 4, 5, 6], [1, 2, 1, 3]), present_v_L0: t([7, 8, 9, 10, 11, 12], [1, 2, 1, 3]) }, 0);
    // scale 1 (n = 2): latents
    c.appendStep({ present_kz_L0: t([3, 4, 5, 6], [1, 1, 2, 2]), present_vz_L0: t([11, 12, 21, 22], [1, 2, 2, 1]) }, 1);
  };

  it("scales < sigma exact per head, later scales latent; entries in attention-column order [exact, latent]; bytes add the exact arrays", () => {
    const c = make();
    fill(c);
    expect(arr(c.head(0, 1).scale)).toEqual([0, 1, 1]);
    expect(arr(c.head(0, 1).token)).toEqual([0, 0, 1]);
    expect([c.exactLength(0, 0), c.exactLength(0, 1)]).toEqual([1, 1]);
    expect(arr(c.group(0, 0).kz)).toEqual([3, 4, 5, 6]); // the group latent holds only scale 1
    // exact: 2 heads × 1 entry × (k 3 + v 3) × 4 B = 48; keys 2 entries × 2 × 4 = 16; values 2 heads × 2 × 1 × 4 = 16
    expect(c.bytes()).toBe(48 + 16 + 16);
    const f = c.feeds();
    expect(f.past_k_L0_H1.dims).toEqual([1, 1, 3]);
    expect(arr(f.past_k_L0_H1.data as Float32Array)).toEqual([4, 5, 6]);
    expect(arr(f.past_v_L0_H0.data as Float32Array)).toEqual([7, 8, 9]);
    expect(f.past_kz_L0_G0.dims).toEqual([1, 2, 2]);
    expect(arr(f.kidx_L0_H0.data as BigInt64Array)).toEqual([0, 1]);
    // sigma = 0 with a head dim: empty exact inputs
    const c0 = new LatentCache(1, 2, { keyWidth: 2, valueWidth: 1, groups: [[[0, 1]]] }, 1, { headDim: 3 });
    expect(c0.feeds().past_k_L0_H0.dims).toEqual([1, 0, 3]);
  });

  it("keep() indices: below P_e select exact entries, above select latents (relative to the latent part)", () => {
    const c = make();
    fill(c);
    c.keep(0, 0, [0, 2]); // head 0: its exact entry and the second latent (scale 1 token 1)
    expect(arr(c.head(0, 0).scale)).toEqual([0, 1]);
    expect(arr(c.head(0, 0).token)).toEqual([0, 1]);
    expect(c.exactLength(0, 0)).toBe(1);
    expect(arr(c.indexOf(0, 0))).toEqual([1]);
    // exact 48 + keys 16 (head 1 still uses both rows) + values 1 + 2 → 12 + index 4
    expect(c.bytes()).toBe(48 + 16 + 12 + 4);
    c.keep(0, 1, [1, 2]); // head 1 drops its exact entry, keeps both latents
    expect(c.exactLength(0, 1)).toBe(0);
    expect(arr(c.head(0, 1).scale)).toEqual([1, 1]);
    expect(c.feeds().past_k_L0_H1.dims).toEqual([1, 0, 3]);
    expect(arr(c.feeds().past_k_L0_H0.data as Float32Array)).toEqual([1, 2, 3]);
    expect(c.bytes()).toBe(24 + 16 + 12 + 4);
    c.keep(0, 1, [1]); // head 1: only latent 1 → union {1}: the group latent is compacted, head 0 now identity
    expect(arr(c.group(0, 0).kz)).toEqual([5, 6]);
    expect(c.indexOf(0, 0)).toBeNull();
    expect(c.bytes()).toBe(24 + 8 + 4 + 4);
    expect(() => c.keep(0, 0, [2])).toThrow(/indices must be strictly increasing integers in \[0, 2\)/);
  });

  it("exact scales must come first; sigma > 0 needs the head dim", () => {
    const c = make();
    c.appendStep({ present_kz_L0: t([3, 4], [1, 1, 1, 2]), present_vz_L0: t([11, 21], [1, 2, 1, 1]) }, 1);
    expect(() => c.appendExactLayer(0, t([1, 2, 3, 4, 5, 6], [1, 2, 1, 3]), t([1, 2, 3, 4, 5, 6], [1, 2, 1, 3]), 0)).toThrow(/already holds latent entries/);
    expect(() => new LatentCache(1, 2, { keyWidth: 2, valueWidth: 1, groups: [[[0, 1]]] }, 1, { sigma: 2 })).toThrow(
      /headDim must be a positive integer when sigma > 0/,
    );
  });
});

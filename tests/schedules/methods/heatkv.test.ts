import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fromReferenceOrders, heatkvMinRatio, heatkvPruneCounts, ordersFromScas, toReferenceOrders } from "../../../src/lib/schedules/methods/heatkv.js";
import { buildSchedule } from "../../../src/lib/schedules/registry.js";
import { type Schedule, type StaticSchedule, keptTotals } from "../../../src/lib/schedules/schedule.js";
import type { ScheduleModel } from "../../../src/lib/schedules/shape.js";
import type { HeadScaleStats } from "../../../src/lib/schedules/stats.js";
import { INFINITY_2B_MODEL, syntheticStats } from "../../../src/lib/schedules/synthetic.js";
import { modelShape } from "../../../src/lib/model/index.js";
import { TINY5, demoConfig, keepLists } from "../helpers.js";

describe("heatkv: docs/methods.md worked Infinity-2B example (b = 0.1, σ = 3)", () => {
  const shape = modelShape(INFINITY_2B_MODEL);
  it("shape: n = 1..4096, C_max = 6425, N = 512", () => {
    expect(shape.tokensPerScale).toEqual([1, 4, 16, 36, 64, 144, 256, 400, 576, 1024, 1600, 2304, 4096]);
    expect(shape.maxCacheTokens).toBe(6425);
  });
  it("x_t = 0,0,0,0,0,0,0,0,159,297,385,435,463 and blocks removed at the end of scales 7..11 = 795, 1782, 2695, 3480, 4167", () => {
    expect(heatkvPruneCounts(shape, 512, 0.1, 3)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 159, 297, 385, 435, 463]);
    const s = buildSchedule("heatkv", INFINITY_2B_MODEL, "10%", { stats: syntheticStats(INFINITY_2B_MODEL, 5) });
    expect(s.details.pruneCounts).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 159, 297, 385, 435, 463]);
    expect((s.details.removedBlocksAtEndOf as number[]).slice(7, 12)).toEqual([795, 1782, 2695, 3480, 4167]);
    // the removed blocks are really absent from the keep sets: blocks (s ≥ σ, head) dropped entering t = x_t · (t − σ)
    const N = 512;
    for (let t = 8; t <= 12; t++) {
      let dropped = 0;
      for (let lh = 0; lh < N; lh++) for (let src = 3; src < t; src++) if (!(((s as StaticSchedule).keep[t * N + lh] >>> src) & 1)) dropped++;
      expect(dropped).toBe((s.details.pruneCounts as number[])[t] * (t - 3));
    }
    // (N − x)·C_t + x·R ≤ b·N·C_max at every target
    keptTotals(s).forEach((n) => expect(n).toBeLessThanOrEqual(0.1 * 512 * 6425));
  });
});

describe("heatkv: hand-checked small case", () => {
  // TINY5: n = 1,4,9,16,25; C = 0,1,5,14,30; C_max = 30. 2 heads (L = 2, H = 1 → lh = layer). σ = 1 → R = 1.
  // 70 %: b·C_max = 21; x_4 = ceil(2 · (30 − 21) / (30 − 1)) = ceil(18/29) = 1, earlier x = 0.
  // S-CAS: s=1: [0.3, 0.2] → order [lh1, lh0]; s=2: [0.1, 0.5] → [lh0, lh1]; s=3: tie 0.4/0.4 → (score, head, layer) → lh0 first.
  const K = 5;
  const scas = new Float64Array(2 * K).fill(Number.NaN);
  [
    [1, 0.3, 0.2],
    [2, 0.1, 0.5],
    [3, 0.4, 0.4],
  ].forEach(([s, a, b]) => {
    scas[0 * K + s] = a;
    scas[1 * K + s] = b;
  });
  const stats: HeadScaleStats = { configHash: TINY5.configHash, numLayers: 2, numHeads: 1, numScales: K, scas, mass: new Float64Array(2 * K * K) };
  it("orders, prune counts and keep sets", () => {
    expect(ordersFromScas(stats, 1).map((o) => Array.from(o))).toEqual([
      [1, 0],
      [0, 1],
      [0, 1],
    ]);
    const s = buildSchedule("heatkv", TINY5, "70%", { stats, params: { sigma: 1 } });
    expect(s.details.pruneCounts).toEqual([0, 0, 0, 0, 1]);
    expect(keepLists(s)).toEqual([
      [[], []],
      [[0], [0]],
      [
        [0, 1],
        [0, 1],
      ],
      [
        [0, 1, 2],
        [0, 1, 2],
      ],
      [
        [0, 1],
        [0, 2, 3],
      ], // end of scale 3: head lh0 loses s=2 and s=3, head lh1 loses s=1
    ]);
    expect(keptTotals(s)).toEqual([0, 2, 10, 28, 5 + 26]);
    expect(s.details.orders).toEqual([
      [
        [0, 1],
        [0, 0],
      ],
      [
        [0, 0],
        [0, 1],
      ],
      [
        [0, 0],
        [0, 1],
      ],
    ]);
    // strict gives the same here (nothing exceeds the threshold within scale 3)
    expect(keepLists(buildSchedule("heatkv", TINY5, "70%", { stats, params: { sigma: 1, strict: true } }))).toEqual(keepLists(s));
  });
  it("missing S-CAS for an eligible source is an error naming it", () => {
    expect(() => buildSchedule("heatkv", TINY5, "70%", { stats, params: { sigma: 0 } })).toThrow(
      'stats: field "scas[l=0,h=0,s=0]" must be finite for heatkv with sigma = 0 (eligible sources 0..3), got NaN; recompute S-CAS with sigma ≤ 0',
    );
    expect(() => buildSchedule("heatkv", TINY5, "70%")).toThrow(/field "stats" are required by method "heatkv"/);
    expect(() => buildSchedule("heatkv", TINY5, "70%", { stats, params: { sigma: 4 } })).toThrow(
      'schedule: field "params.sigma" must be in [0, 3] (at least one eligible source scale), got 4',
    );
  });
});

describe("heatkv: infeasible budgets", () => {
  const demo = demoConfig();
  it("below the protected prefix R/C_max: a clear error with the minimum feasible budget", () => {
    const shape = modelShape(demo);
    const R = shape.tokensPerScale.slice(0, 3).reduce((a, b) => a + b, 0);
    expect(heatkvMinRatio(shape, 3)).toBeCloseTo(R / shape.maxCacheTokens, 15);
    const min = Math.ceil((R / shape.maxCacheTokens) * 1e4) / 100;
    expect(() => buildSchedule("heatkv", demo, "10%", { stats: syntheticStats(demo) })).toThrow(
      `schedule: field "budget" 10% is infeasible for heatkv: with sigma = 3 the protected sink scales 0..2 hold R = ${R} of C_max = ${shape.maxCacheTokens} tokens per head (`,
    );
    expect(() => buildSchedule("heatkv", demo, "10%", { stats: syntheticStats(demo) })).toThrow(`the minimum feasible budget is ${min}% (or lower sigma)`);
    // a lower sigma makes it feasible
    expect(() => buildSchedule("heatkv", demo, "10%", { stats: syntheticStats(demo), params: { sigma: 2 } })).not.toThrow();
  });
});

interface RefCase {
  name: string;
  patchNums: number[];
  numLayers: number;
  numHeads: number;
  sigma: number;
  budget: number;
  scores: number[][][];
  orders: [number, number][][];
  pruneCounts?: number[];
  endOfScaleRemoved?: string[][];
  strictRemoved?: string[][];
  error?: string;
  strictError?: string;
}

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, "..", "fixtures", "reference-heatkv.json"), "utf8")) as { cases: RefCase[] };

/** Expected keep masks [t][lh] from the reference's removed-head bit sets (hex, bit lh = layer·H + head). */
function expectedKeep(c: RefCase, removed: string[][]): number[][] {
  const K = c.patchNums.length;
  const N = c.numLayers * c.numHeads;
  return Array.from({ length: K }, (_, t) =>
    Array.from({ length: N }, (_, lh) => {
      let m = 0;
      for (let s = 0; s < t; s++) {
        const gone = s >= c.sigma && (BigInt(`0x${removed[t][s - c.sigma]}`) >> BigInt(lh)) & 1n;
        if (!gone) m |= 1 << s;
      }
      return m >>> 0;
    }),
  );
}

const masksOf = (s: Schedule, K: number, N: number) =>
  Array.from({ length: K }, (_, t) => Array.from((s as { keep: Uint32Array }).keep.slice(t * N, (t + 1) * N)));

describe("heatkv: bit-for-bit against the reference code (arm-research/heatkv, fixtures/make-reference-heatkv.py)", () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const model: ScheduleModel = { modelId: "ref", configHash: "cafe0001", patchNums: c.patchNums, numLayers: c.numLayers, numHeads: c.numHeads, headDim: 1 };
    const K = c.patchNums.length;
    const H = c.numHeads;
    const N = c.numLayers * H;
    const scas = new Float64Array(N * K).fill(Number.NaN);
    for (let l = 0; l < c.numLayers; l++)
      for (let h = 0; h < H; h++) for (let s = c.sigma; s <= K - 2; s++) scas[(l * H + h) * K + s] = c.scores[l][h][s - c.sigma];
    const stats: HeadScaleStats = { configHash: model.configHash, numLayers: c.numLayers, numHeads: H, numScales: K, scas, mass: new Float64Array(N * K * K) };
    // orders: compute_scas.py orders_from_scores
    expect(toReferenceOrders(ordersFromScas(stats, c.sigma), H)).toEqual(c.orders);
    const build = (strict: boolean) => buildSchedule("heatkv", model, c.budget, { stats, params: { sigma: c.sigma, strict } });
    if (c.error) {
      expect(c.error).toMatch(/below the minimum feasible ratio/);
      expect(() => build(false)).toThrow(/is infeasible for heatkv: .* the minimum feasible budget is/);
      expect(() => build(true)).toThrow(/is infeasible for heatkv/);
      return;
    }
    // prune counts: tools/utils.py pruned_heads_for_budget
    expect(heatkvPruneCounts(modelShape(model), N, c.budget, c.sigma)).toEqual(c.pruneCounts);
    // end-of-scale keep sets: enable_pruning.py ScaleSpecificPruningController
    const plain = build(false);
    expect(masksOf(plain, K, N)).toEqual(expectedKeep(c, c.endOfScaleRemoved as string[][]));
    // strict keep sets: tools/utils.py strict_removed_heads_by_scale_specific_for_budget (the reference default)
    if (c.strictError) {
      expect(() => build(true)).toThrow(/infeasible/);
    } else {
      expect(masksOf(build(true), K, N)).toEqual(expectedKeep(c, c.strictRemoved as string[][]));
    }
    // the same schedule from the reference's orders JSON instead of S-CAS
    const fromOrders = buildSchedule("heatkv", model, c.budget, { orders: c.orders, params: { sigma: c.sigma } });
    expect(masksOf(fromOrders, K, N)).toEqual(masksOf(plain, K, N));
  });
  it("the fixture exercises the strict variant (early drops differ from end-of-scale)", () => {
    const differing = fixture.cases.filter((c) => c.strictRemoved && JSON.stringify(c.strictRemoved) !== JSON.stringify(c.endOfScaleRemoved));
    expect(differing.length).toBeGreaterThanOrEqual(5);
  });
});

describe("heatkv: reference orders format", () => {
  it("validates [head, layer] permutations per eligible source", () => {
    expect(
      Array.from(
        fromReferenceOrders(
          [
            [
              [0, 1],
              [0, 0],
            ],
          ],
          2,
          1,
          3,
          1,
        )[0],
      ),
    ).toEqual([1, 0]);
    expect(() => fromReferenceOrders([], 2, 1, 3, 1)).toThrow(
      'orders: field "orders" must be a list of 1 orders (source scales 1..1 for sigma = 1), got 0 entries',
    );
    expect(() => fromReferenceOrders([[[0, 1]]], 2, 1, 3, 1)).toThrow('orders: field "orders[0]" must list all 2 [head, layer] pairs, got 1');
    expect(() =>
      fromReferenceOrders(
        [
          [
            [0, 1],
            [0, 1],
          ],
        ],
        2,
        1,
        3,
        1,
      ),
    ).toThrow('orders: field "orders[0][1]" repeats [0,1]');
    expect(() =>
      fromReferenceOrders(
        [
          [
            [0, 1],
            [1, 0],
          ],
        ],
        2,
        1,
        3,
        1,
      ),
    ).toThrow('orders: field "orders[0][1]" must be [head 0..0, layer 0..1], got [1,0]');
  });
});

import { describe, expect, it } from "vitest";
import { scaleLayout, unpackHead } from "../../src/lib/metrics/heads.js";
import {
  type AttentionShape,
  headType,
  INFINITY_2B_ATTENTION,
  syntheticHead,
  syntheticPackedHead,
  syntheticSummaryRows,
  VAR_D16_ATTENTION,
} from "../../jobs/synthetic-attention.js";

const tiny: AttentionShape = { name: "tiny", patchNums: [1, 2, 4], gridNums: [1, 2, 2], numLayers: 2, numHeads: 3, images: 1, imageSize: 8, summaryGrid: 2 };

describe("synthetic attention at big shapes", () => {
  it("shapes: VAR-d16 680 tokens, Infinity-2B 10,521 tokens pooled to 921 cells, matrices for 48 heads", () => {
    expect(scaleLayout(VAR_D16_ATTENTION.patchNums).total).toBe(680);
    expect(scaleLayout(INFINITY_2B_ATTENTION.patchNums).total).toBe(10521);
    expect(scaleLayout(INFINITY_2B_ATTENTION.gridNums).total).toBe(921);
    expect(INFINITY_2B_ATTENTION.matrixHeads).toHaveLength(48);
  });

  it("rows are block-causal distributions; pooled cells carry their tokens' weight", () => {
    const lay = scaleLayout(tiny.gridNums);
    const A = syntheticHead(tiny, lay, tiny.gridNums, 0, 0, 1, 2);
    for (let q = 0; q < lay.total; q++) {
      let sum = 0;
      for (let k = 0; k < lay.total; k++) {
        if (k >= lay.visible[lay.scaleOf[q]]) expect(A[q * lay.total + k]).toBe(0);
        sum += A[q * lay.total + k];
      }
      expect(sum).toBeCloseTo(1, 5);
    }
    const packed = syntheticPackedHead(tiny, 0, 0, 1, 2);
    expect(packed.length).toBe(lay.packedSize);
    const D = unpackHead(packed, lay);
    for (let i = 0; i < A.length; i++) if (A[i] > 1e-3) expect(Math.abs(D[i] / A[i] - 1)).toBeLessThan(0.03);
  });

  it("deterministic, and head types differ", () => {
    expect(syntheticPackedHead(tiny, 0, 1, 0, 0)).toEqual(syntheticPackedHead(tiny, 0, 1, 0, 0));
    expect(syntheticPackedHead(tiny, 0, 1, 0, 0)).not.toEqual(syntheticPackedHead(tiny, 0, 0, 0, 0));
    const types = new Set(Array.from({ length: 256 }, (_, i) => headType(i >> 4, i & 15)));
    expect(types).toEqual(new Set(["sink", "broad", "local"]));
  });

  it("summary rows: one per (image, branch, layer, head) with labels and scale mass", () => {
    const rows = syntheticSummaryRows(tiny);
    expect(rows).toHaveLength(1 * 2 * 2 * 3);
    expect(rows[0]).toHaveProperty("scalekv");
    expect(rows[0]).toHaveProperty("m2_0");
    const K = 3;
    for (const r of rows)
      for (let t = 0; t < K; t++) {
        let sum = 0;
        for (let s = 0; s <= t; s++) sum += r[`m${t}_${s}`] as number;
        expect(sum).toBeCloseTo(1, 5);
      }
  });
});

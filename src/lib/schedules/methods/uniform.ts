/**
 * uniform: the same kept count in every (layer, head) — the budget split evenly (remainder to the lowest
 * head indices) — keeping the most recent entries. Nothing is dropped while the whole cache fits.
 */
import { dynamicCounts } from "../allocate.js";
import { defineMethod } from "../method.js";
import { DEFAULT_SCORER } from "../schedule.js";

export const uniform = defineMethod({
  name: "uniform",
  summary: "Same kept fraction in every (layer, head); most recent tokens first.",
  kind: "dynamic",
  needsStats: false,
  params: {},
  build({ shape, model, limit }) {
    const N = model.numLayers * model.numHeads;
    const ones = new Float64Array(N).fill(1);
    return { kind: "dynamic", counts: dynamicCounts(shape, N, limit, () => ones), rules: new Array(N).fill("recent"), scorer: { ...DEFAULT_SCORER } };
  },
});

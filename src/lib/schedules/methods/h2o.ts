/**
 * h2o (H2O-style): even budget per (layer, head); each head keeps its most recent entries
 * (recentRatio of its count) plus the heavy hitters — the highest attention accumulated over every scale
 * whose queries saw the entry (a running per-head score keyed by (scale, token)).
 */
import { dynamicCounts } from "../allocate.js";
import { defineMethod } from "../method.js";
import { DEFAULT_SCORER } from "../schedule.js";

export const h2o = defineMethod({
  name: "h2o",
  summary: "Heavy hitters by accumulated attention + most recent tokens, even budget per head.",
  kind: "dynamic",
  needsStats: false,
  params: {
    recentRatio: { type: "number", default: 0.5, min: 0, max: 1, doc: "fraction of each head's kept count reserved for the most recent tokens (H2O: half)" },
  },
  build({ shape, model, limit }, p) {
    const N = model.numLayers * model.numHeads;
    const ones = new Float64Array(N).fill(1);
    return {
      kind: "dynamic",
      counts: dynamicCounts(shape, N, limit, () => ones),
      rules: new Array(N).fill("h2o"),
      scorer: { ...DEFAULT_SCORER, recentRatio: p.recentRatio },
    };
  },
});

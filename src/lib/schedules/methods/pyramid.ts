/**
 * pyramid (PyramidKV-style): per-head budgets decrease linearly with depth, same total — layer l gets
 * weight w_l = (2 − 1/β) − l·(2 − 2/β)/(L − 1), i.e. the last layer 1/β of the average and the first
 * 2 − 1/β (PyramidKV: k_{L−1} = k_avg/β, k_0 = 2·k_avg − k_{L−1}). Heads capped by what they hold give
 * their excess to the others. Tokens by SnapKV-style attention score (PyramidKV selects like SnapKV).
 */
import { dynamicCounts } from "../allocate.js";
import { defineMethod } from "../method.js";
import { DEFAULT_SCORER } from "../schedule.js";

export function pyramidLayerWeights(numLayers: number, beta: number): Float64Array {
  const w = new Float64Array(numLayers);
  if (numLayers === 1) return w.fill(1);
  const top = 2 - 1 / beta;
  const step = (2 - 2 / beta) / (numLayers - 1);
  for (let l = 0; l < numLayers; l++) w[l] = top - l * step;
  return w;
}

export const pyramid = defineMethod({
  name: "pyramid",
  summary: "PyramidKV-style: layer budgets decrease linearly with depth (same total); tokens by attention (SnapKV-style).",
  kind: "dynamic",
  needsStats: false,
  params: {
    beta: { type: "number", default: 20, min: 1, doc: "the last layer keeps 1/β of the average budget (PyramidKV's β); β = 1 is uniform" },
    window: { type: "integer", default: DEFAULT_SCORER.window, min: 0, doc: "current-scale grid-centre tokens always ranked first" },
    poolKernel: {
      type: "integer",
      default: DEFAULT_SCORER.poolKernel,
      min: 1,
      odd: true,
      doc: "1-D max-pool kernel over each source scale's token order (odd)",
    },
  },
  build({ shape, model, limit }, p) {
    const { numLayers: L, numHeads: H } = model;
    const lw = pyramidLayerWeights(L, p.beta);
    const w = Float64Array.from({ length: L * H }, (_, i) => lw[Math.floor(i / H)]);
    return {
      kind: "dynamic",
      counts: dynamicCounts(shape, L * H, limit, () => w),
      rules: new Array(L * H).fill("snapkv"),
      scorer: { ...DEFAULT_SCORER, window: p.window, poolKernel: p.poolKernel },
      details: { layerWeights: Array.from(lw) },
    };
  },
});

/** full: keep every cached entry (the reference every method is compared with). Budget is always 100 %. */
import { defineMethod } from "../method.js";

export const full = defineMethod({
  name: "full",
  summary: "Full cache (no compression); the reference. Always 100 % of the cache.",
  kind: "static",
  needsStats: false,
  fullBudget: true,
  params: {},
  build({ shape, model }) {
    const K = shape.numScales;
    const N = model.numLayers * model.numHeads;
    const keep = new Uint32Array(K * N);
    for (let t = 1; t < K; t++) keep.fill(((1 << t) - 1) >>> 0, t * N, (t + 1) * N);
    return { kind: "static", keep };
  },
});

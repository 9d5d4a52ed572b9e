/**
 * Rank stability of S-CAS head orderings (HeatKV's open question: does the calibration ranking generalise?):
 *  - growth: Kendall tau-b between the ordering from the first m prompts and from the whole set, per source
 *    scale, m = 1..P (prompts taken seed-major: every class at seed 1, then at seed 2, …);
 *  - held-out classes: for each class c, tau between the ordering from all other classes and from c alone.
 */
import { kendallTau, scas } from "../src/lib/metrics/attention.js";
import type { ModelConfig } from "../src/lib/model/index.js";
import type { Row, Schema } from "../node/parquet.js";
import { readScaleMass } from "../node/stats-store.js";

export const STABILITY_SCHEMA: Schema = {
  kind: "VARCHAR",
  prompts: "INTEGER",
  class_index: "INTEGER",
  class_name: "VARCHAR",
  source_scale: "INTEGER",
  tau: "DOUBLE",
};

export async function stabilityRows(statsFile: string, cfg: ModelConfig, sigma = 3): Promise<Row[]> {
  const { prompts, mass, K } = await readScaleMass(statsFile, cfg);
  const N = cfg.numLayers * cfg.numHeads;
  const block = N * K * K;
  const scasOf = (idx: number[]) => scas(idx.length, N, K, sigma, (p, i, t, s) => mass[idx[p] * block + (i * K + t) * K + s]);
  const column = (v: Float64Array, s: number) => Float64Array.from({ length: N }, (_, i) => v[i * K + s]);
  const sources = Array.from({ length: K - 1 - sigma }, (_, j) => sigma + j);
  const rows: Row[] = [];
  const order = prompts
    .map((p, i) => ({ ...p, i }))
    .sort((a, b) => a.seed - b.seed || a.classIndex - b.classIndex)
    .map((p) => p.i);
  const full = scasOf(order);
  for (let m = 1; m <= order.length; m++) {
    const part = scasOf(order.slice(0, m));
    for (const s of sources)
      rows.push({ kind: "growth", prompts: m, class_index: null, class_name: null, source_scale: s, tau: kendallTau(column(part, s), column(full, s)) });
  }
  const classes = [...new Set(prompts.map((p) => p.classIndex))].sort((a, b) => a - b);
  if (classes.length > 1) {
    for (const c of classes) {
      const inside = prompts.flatMap((p, i) => (p.classIndex === c ? [i] : []));
      const outside = prompts.flatMap((p, i) => (p.classIndex !== c ? [i] : []));
      const a = scasOf(outside);
      const b = scasOf(inside);
      for (const s of sources)
        rows.push({
          kind: "heldout_class",
          prompts: inside.length,
          class_index: c,
          class_name: cfg.classes[c],
          source_scale: s,
          tau: kendallTau(column(a, s), column(b, s)),
        });
    }
  }
  return rows;
}

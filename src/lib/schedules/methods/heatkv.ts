/**
 * heatkv — exactly as docs/methods.md (reference: arm-research/heatkv, tools/compute_scas.py + tools/utils.py).
 *
 * 1. Orders: for each eligible source scale s = σ..K−2, all N = L·H (head, layer) pairs sorted ascending by
 *    (S-CAS, head, layer) — least future dependency first.
 * 2. Prune counts: with R = Σ_{s<σ} n_s, x_t = 0 if C_t ≤ b·C_max, else ceil(N·(C_t − b·C_max)/(C_t − R))
 *    clipped to [0, N]. Budgets with b < R/C_max are infeasible.
 * 3. End of scale t (t ≤ K−2): for every source s in [σ, t] the first x_{t+1} entries of order_s are
 *    removed — whole (source scale, layer, head) blocks. So entering target t a head keeps scales < σ and
 *    every s in [σ, t−1] whose order_s rank is ≥ x_t.
 * 4. `strict` (the reference code's default, tools/utils.py strict_pruning_schedule_for_budget_scale_specific):
 *    while scale t is generated, after layer ℓ is written count protected + surviving blocks (for s = t only
 *    layers ≤ ℓ); if that exceeds b·N·C_max, blocks due at the end of t in layers > ℓ are dropped early —
 *    last layer first, then larger source scale, then S-CAS rank — so those layers' scale-t queries no
 *    longer see them. Our runtime runs all layers of a scale in one step, so early drops are applied before
 *    scale t runs; the keep sets that each layer's queries see are the reference's.
 */
import type { ModelShape } from "../../model/index.js";
import { ScheduleError, percent, shown } from "../errors.js";
import { defineMethod } from "../method.js";
import { prefixTokens } from "../shape.js";
import type { HeadScaleStats } from "../stats.js";
import { type Schedule, maskScales } from "../schedule.js";

/** Orders per eligible source s = σ..K−2 (index s − σ): flat (layer*H + head) indices, least important first. */
export type HeatkvOrders = Int32Array[];

/** [[head, layer], ...] per source s = σ..K−2 — the reference repo's orders JSON. */
export type ReferenceOrders = [head: number, layer: number][][];

export function ordersFromScas(stats: HeadScaleStats, sigma: number, source = "stats"): HeatkvOrders {
  const { numLayers: L, numHeads: H, numScales: K } = stats;
  const orders: HeatkvOrders = [];
  for (let s = sigma; s <= K - 2; s++) {
    const entries: { score: number; head: number; layer: number }[] = [];
    for (let l = 0; l < L; l++) {
      for (let h = 0; h < H; h++) {
        const score = stats.scas[(l * H + h) * K + s];
        if (!Number.isFinite(score)) {
          throw new ScheduleError(
            source,
            `scas[l=${l},h=${h},s=${s}]`,
            `must be finite for heatkv with sigma = ${sigma} (eligible sources ${sigma}..${K - 2}), got ${score}; recompute S-CAS with sigma ≤ ${s}`,
          );
        }
        entries.push({ score, head: h, layer: l });
      }
    }
    entries.sort((a, b) => a.score - b.score || a.head - b.head || a.layer - b.layer);
    orders.push(Int32Array.from(entries, (e) => e.layer * H + e.head));
  }
  return orders;
}

export function toReferenceOrders(orders: HeatkvOrders, numHeads: number): ReferenceOrders {
  return orders.map((o) => Array.from(o, (lh) => [lh % numHeads, Math.floor(lh / numHeads)] as [number, number]));
}

/** Validate the reference format (one list per s = σ..K−2, each a permutation of all [head, layer]). */
export function fromReferenceOrders(raw: unknown, numLayers: number, numHeads: number, numScales: number, sigma: number, source = "orders"): HeatkvOrders {
  const want = numScales - 1 - sigma;
  if (!Array.isArray(raw) || raw.length !== want) {
    throw new ScheduleError(
      source,
      "orders",
      `must be a list of ${want} orders (source scales ${sigma}..${numScales - 2} for sigma = ${sigma}), got ${Array.isArray(raw) ? `${raw.length} entries` : shown(raw)}`,
    );
  }
  const N = numLayers * numHeads;
  return raw.map((order, i) => {
    if (!Array.isArray(order) || order.length !== N)
      throw new ScheduleError(source, `orders[${i}]`, `must list all ${N} [head, layer] pairs, got ${Array.isArray(order) ? order.length : shown(order)}`);
    const seen = new Uint8Array(N);
    return Int32Array.from(order, (pair: unknown, j) => {
      const ok =
        Array.isArray(pair) &&
        pair.length === 2 &&
        Number.isInteger(pair[0]) &&
        Number.isInteger(pair[1]) &&
        pair[0] >= 0 &&
        pair[0] < numHeads &&
        pair[1] >= 0 &&
        pair[1] < numLayers;
      if (!ok) throw new ScheduleError(source, `orders[${i}][${j}]`, `must be [head 0..${numHeads - 1}, layer 0..${numLayers - 1}], got ${shown(pair)}`);
      const lh = (pair as number[])[1] * numHeads + (pair as number[])[0];
      if (seen[lh]) throw new ScheduleError(source, `orders[${i}][${j}]`, `repeats ${shown(pair)}`);
      seen[lh] = 1;
      return lh;
    });
  });
}

/** Smallest feasible budget ratio for sigma: R / C_max. */
export function heatkvMinRatio(shape: ModelShape, sigma: number): number {
  return Math.min(prefixTokens(shape, sigma), shape.maxCacheTokens) / shape.maxCacheTokens;
}

function infeasible(source: string, given: string, why: string): never {
  throw new ScheduleError(source, "budget", `${given} is infeasible for heatkv: ${why}`);
}

/** x_t for t = 0..K−1 (reference pruned_heads_for_budget, same float operations). */
export function heatkvPruneCounts(
  shape: ModelShape,
  numHeadsTotal: number,
  ratio: number,
  sigma: number,
  source = "schedule",
  given = String(ratio),
): number[] {
  const R = prefixTokens(shape, sigma);
  const cmax = shape.maxCacheTokens;
  const minRatio = heatkvMinRatio(shape, sigma);
  if (ratio + 1e-12 < minRatio) {
    infeasible(
      source,
      given,
      `with sigma = ${sigma} the protected sink scales 0..${sigma - 1} hold R = ${R} of C_max = ${cmax} tokens per head (${percent(minRatio)}); the minimum feasible budget is ${percent(Math.ceil(minRatio * 1e4) / 1e4)} (or lower sigma)`,
    );
  }
  const budgeted = ratio * cmax;
  return shape.cacheTokensEntering.map((incoming, t) => {
    const retained = Math.min(R, incoming);
    if (incoming <= budgeted) return 0;
    if (incoming === retained) infeasible(source, given, `at scale ${t} the protected prefix alone (${retained} tokens per head) exceeds the budget`);
    const x = Math.ceil((numHeadsTotal * (incoming - budgeted)) / (incoming - retained));
    return Math.max(0, Math.min(numHeadsTotal, x));
  });
}

function ranks(orders: HeatkvOrders, N: number): Int32Array[] {
  return orders.map((o) => {
    const r = new Int32Array(N);
    o.forEach((lh, i) => (r[lh] = i));
    return r;
  });
}

/** Keep masks [K*N] of the end-of-scale rule (docs/methods.md, heatkv step 4). */
export function heatkvKeepMasks(shape: ModelShape, numHeadsTotal: number, sigma: number, orders: HeatkvOrders, x: number[]): Uint32Array {
  const K = shape.numScales;
  const N = numHeadsTotal;
  const rank = ranks(orders, N);
  const keep = new Uint32Array(K * N);
  for (let t = 1; t < K; t++) {
    for (let lh = 0; lh < N; lh++) {
      let m = 0;
      for (let s = 0; s < t; s++) if (s < sigma || rank[s - sigma][lh] >= x[t]) m |= 1 << s;
      keep[t * N + lh] = m >>> 0;
    }
  }
  return keep;
}

/**
 * Strict layer-by-layer variant (reference default). Returns keep masks and early drops per scale, and
 * `sameAbove`: the largest token total compared ≤ b·N·C_max (−1 if none) — with the same prune counts x,
 * any threshold in [sameAbove, b·N·C_max] takes the same path, so gives the same masks.
 */
export function heatkvStrictKeepMasks(
  shape: ModelShape,
  numLayers: number,
  numHeads: number,
  sigma: number,
  orders: HeatkvOrders,
  x: number[],
  ratio: number,
  source = "schedule",
  given = String(ratio),
): { keep: Uint32Array; early: number[]; sameAbove: number } {
  const K = shape.numScales;
  const L = numLayers;
  const H = numHeads;
  const N = L * H;
  const n = shape.tokensPerScale;
  const rank = ranks(orders, N);
  const threshold = ratio * L * H * shape.maxCacheTokens; // reference: budget * num_layers * num_heads * full_peak_tokens
  let sameAbove = -1;
  const within = (total: number) => {
    if (total > threshold) return false;
    if (total > sameAbove) sameAbove = total;
    return true;
  };
  let active = new Uint8Array(K * N); // final removed blocks (s*N + lh) after the previous scale
  const seen: Uint8Array[] = []; // seen[t]: blocks removed while target scale t is generated
  const early: number[] = [];
  for (let ts = 0; ts < K - 1; ts++) {
    const count = x[ts + 1];
    const hi = Math.min(K - 2, ts);
    const target = new Uint8Array(K * N);
    for (let s = sigma; s <= hi; s++) for (let r = 0; r < count; r++) target[s * N + orders[s - sigma][r]] = 1;
    const cur = active.slice();
    const rem = new Int32Array(K * L); // removed heads per (s, layer)
    for (let s = sigma; s <= hi; s++) for (let lh = 0; lh < N; lh++) if (cur[s * N + lh]) rem[s * L + Math.floor(lh / H)]++;
    const protectedTotal = L * H * prefixTokens(shape, Math.min(sigma, ts));
    const totalAfter = (layer: number) => {
      let total = protectedTotal;
      for (let s = sigma; s <= hi; s++) {
        for (let l = 0; l < L; l++) {
          if (s === ts && l > layer) continue;
          total += (H - rem[s * L + l]) * n[s];
        }
      }
      return total;
    };
    const drop = (s: number, lh: number) => {
      cur[s * N + lh] = 1;
      rem[s * L + Math.floor(lh / H)]++;
    };
    const candidates: [number, number][] = [];
    for (let s = sigma; s <= hi && s < ts; s++) for (let lh = 0; lh < N; lh++) if (target[s * N + lh]) candidates.push([s, lh]);
    candidates.sort((a, b) => Math.floor(b[1] / H) - Math.floor(a[1] / H) || b[0] - a[0] || rank[a[0] - sigma][a[1]] - rank[b[0] - sigma][b[1]]);
    const earlyHere = new Uint8Array(K * N);
    let earlyCount = 0;
    for (let layer = 0; layer < L; layer++) {
      for (let s = sigma; s <= hi; s++) {
        for (let h = 0; h < H; h++) {
          const lh = layer * H + h;
          if (target[s * N + lh] && !cur[s * N + lh]) drop(s, lh);
        }
      }
      let total = totalAfter(layer);
      if (within(total)) continue;
      // reference order: last layer first, then larger source scale, then S-CAS rank; only blocks of
      // layers > ℓ not yet dropped, never of the scale being written (its later layers do not exist yet)
      for (const [s, lh] of candidates) {
        if (Math.floor(lh / H) <= layer) break;
        if (cur[s * N + lh]) continue;
        drop(s, lh);
        earlyHere[s * N + lh] = 1;
        earlyCount++;
        total -= n[s]; // s < ts: the block was counted in full
        if (within(total)) break;
      }
      if (!within(total))
        infeasible(
          source,
          given,
          `at scale ${ts}, layer ${layer} the strict layer-by-layer cache (${total} tokens) stays over b·N·C_max = ${threshold} even after dropping every block due at the end of the scale`,
        );
    }
    if (!within(totalAfter(L - 1))) infeasible(source, given, `at the end of scale ${ts}`);
    for (let i = 0; i < K * N; i++) {
      if (cur[i] !== target[i]) throw new Error(`heatkv strict: scale ${ts} did not reach its end-of-scale removals (internal error)`);
    }
    const removed = active.slice();
    for (let i = 0; i < K * N; i++) if (earlyHere[i]) removed[i] = 1;
    seen.push(removed);
    early.push(earlyCount);
    active = target;
  }
  seen.push(active); // the last scale sees the end-of-scale removals of scale K−2
  const keep = new Uint32Array(K * N);
  for (let t = 1; t < K; t++) {
    for (let lh = 0; lh < N; lh++) {
      let m = 0;
      for (let s = 0; s < t; s++) if (!seen[t][s * N + lh]) m |= 1 << s;
      keep[t * N + lh] = m >>> 0;
    }
  }
  return { keep, early, sameAbove };
}

/**
 * HeatKV's invariants of a (built or imported) schedule: σ ≤ K−2 (at least one eligible source) and every
 * head keeps every sink scale s < σ at every target t > s — a file whose params.sigma contradicts its keep
 * lists is refused.
 */
export function verifySinkScales(s: Schedule, sigma: number, source: string): void {
  const K = s.model.patchNums.length;
  if (sigma > K - 2) throw new ScheduleError(source, "params.sigma", `must be in [0, ${K - 2}] (at least one eligible source scale), got ${sigma}`);
  if (s.kind !== "static") return;
  const N = s.model.numLayers * s.model.numHeads;
  const H = s.model.numHeads;
  for (let t = 1; t < K; t++) {
    const sinks = ((1 << Math.min(sigma, t)) - 1) >>> 0;
    for (let i = 0; i < N; i++) {
      const m = s.keep[t * N + i];
      if ((m & sinks) !== sinks) {
        const missing = maskScales((sinks & ~m) >>> 0)[0];
        throw new ScheduleError(
          source,
          `targets[${t - 1}].keep[${Math.floor(i / H)}][${i % H}]`,
          `drops sink scale ${missing}, but params.sigma = ${sigma} keeps scales 0..${sigma - 1} in every head`,
        );
      }
    }
  }
}

export const heatkv = defineMethod({
  name: "heatkv",
  summary: "HeatKV: static head- and scale-specific block pruning by calibrated S-CAS orders (arm-research/heatkv).",
  kind: "static",
  needsStats: true,
  role: "subject",
  params: {
    sigma: { type: "integer", default: 3, min: 0, doc: "sink scales 0..σ−1 never pruned (protected prefix R = Σ_{s<σ} n_s); eligible sources σ..K−2" },
    strict: {
      type: "boolean",
      default: false,
      doc: "strict layer-by-layer variant (reference code default): drop end-of-scale blocks early when the per-layer count would exceed the budget",
    },
  },
  build({ shape, model, budget, stats, orders: given, source }, p) {
    const K = shape.numScales;
    const { numLayers: L, numHeads: H } = model;
    const N = L * H;
    if (p.sigma > K - 2) throw new ScheduleError(source, "params.sigma", `must be in [0, ${K - 2}] (at least one eligible source scale), got ${p.sigma}`);
    let orders: HeatkvOrders;
    if (given !== undefined) orders = fromReferenceOrders(given, L, H, K, p.sigma, "orders");
    else if (stats) orders = ordersFromScas(stats, p.sigma);
    else throw new ScheduleError(source, "stats", `are required by method "heatkv" (S-CAS orders from calibration), or pass orders in the reference format`);
    const x = heatkvPruneCounts(shape, N, budget.ratio, p.sigma, source, budget.given);
    const { keep, early } = p.strict
      ? heatkvStrictKeepMasks(shape, L, H, p.sigma, orders, x, budget.ratio, source, budget.given)
      : { keep: heatkvKeepMasks(shape, N, p.sigma, orders, x), early: undefined };
    const removedBlocksAtEndOf = Array.from({ length: K }, (_, t) => (t <= K - 2 ? x[t + 1] * Math.max(0, Math.min(t, K - 2) - p.sigma + 1) : 0));
    return {
      kind: "static",
      keep,
      details: {
        protectedTokens: prefixTokens(shape, p.sigma),
        minFeasibleRatio: heatkvMinRatio(shape, p.sigma),
        pruneCounts: x,
        removedBlocksAtEndOf,
        ...(early ? { earlyDrops: early } : {}),
        orders: toReferenceOrders(orders, H),
      },
    };
  },
  verify: (s, p, source) => verifySinkScales(s, p.sigma, source),
});

/**
 * scheduleToPolicy: a runtime CachePolicy that enforces a Schedule physically with cache.keep/keepWhere.
 * afterScale(t) runs after scale t's keys were appended and leaves, per (layer, head), exactly the entries
 * the schedule lets into target t+1:
 * - static: whole source-scale blocks not in keep[t+1] are dropped;
 * - dynamic: the head's rule picks exactly counts[t+1] of the entries present (see scorers.ts).
 * Afterwards every head's length is checked against the schedule, so a policy never keeps more than the
 * schedule says, and since only present entries can be kept a dropped entry never comes back.
 * The one way from a schedule to a cache: it needs only the CacheStore / CachePolicy interfaces (a low-rank
 * cache declares its layout and σ in CacheStore.lowRank; the policy declares the σ it needs in sigma).
 */
import { type Schedule, checkScheduleModel, keptTokens, numHeadsTotal } from "../schedules/schedule.js";
import type { ScheduleModel } from "../schedules/shape.js";
import type { CacheStore } from "../var/kvcache.js";
import type { CachePolicy, ScaleObservation } from "../var/runtime.js";
import { selectH2O, selectRecent, selectSnapKV } from "./scorers.js";

export interface SchedulePolicy extends CachePolicy {
  readonly schedule: Schedule;
}

export function scheduleToPolicy(schedule: Schedule, cfg: ScheduleModel): SchedulePolicy {
  checkScheduleModel(schedule, cfg);
  const L = cfg.numLayers;
  const H = cfg.numHeads;
  const N = numHeadsTotal(cfg);
  const expected = keptTokens(schedule);
  const K = expected.length;
  // h2o running scores per head, keyed by (scale, token)
  let accumulated: Map<number, number>[] = [];
  const key = (scale: number, token: number) => scale * 0x1000000 + token;

  const enforceDynamic = (t: number, cache: CacheStore, obs: ScaleObservation, lh: number) => {
    if (schedule.kind !== "dynamic") return;
    const l = Math.floor(lh / H);
    const h = lh % H;
    const hc = cache.head(l, h);
    const P = hc.scale.length;
    const count = schedule.counts[(t + 1) * N + lh];
    const rule = schedule.rules[lh];
    const attn = obs.attn[lh];
    if (attn.length !== obs.rows * P)
      throw new Error(`${policyName}: observation for layer ${l} head ${h} has ${attn.length} values, expected rows ${obs.rows} × ${P} cache entries`);
    // attention mass per entry, summed over the CFG rows (both halves share the decision)
    const mass = new Float64Array(P);
    for (let r = 0; r < obs.rows; r++) for (let i = 0; i < P; i++) mass[i] += attn[r * P + i];
    let acc: Float64Array | undefined;
    if (rule === "h2o") {
      const map = accumulated[lh];
      acc = new Float64Array(P);
      for (let i = 0; i < P; i++) {
        const k = key(hc.scale[i], hc.token[i]);
        acc[i] = (map.get(k) ?? 0) + mass[i];
      }
    }
    if (count >= P) {
      if (count > P)
        throw new Error(
          `${policyName}: layer ${l} head ${h} holds ${P} entries after scale ${t} but the schedule keeps ${count} (the cache lost entries the schedule counts on)`,
        );
    } else {
      const keep =
        rule === "recent"
          ? selectRecent(P, count)
          : rule === "h2o"
            ? selectH2O(acc as Float64Array, count, schedule.scorer.recentRatio)
            : selectSnapKV(mass, hc.scale, hc.token, t, schedule.model.patchNums[t], count, schedule.scorer);
      cache.keep(l, h, keep);
    }
    if (rule === "h2o") {
      const after = cache.head(l, h);
      const map = new Map<number, number>();
      const full = acc as Float64Array;
      if (after.scale.length === P) for (let i = 0; i < P; i++) map.set(key(hc.scale[i], hc.token[i]), full[i]);
      else {
        // re-key the survivors' scores (their storage positions moved)
        const byKey = new Map<number, number>();
        for (let i = 0; i < P; i++) byKey.set(key(hc.scale[i], hc.token[i]), full[i]);
        for (let i = 0; i < after.scale.length; i++) {
          const k = key(after.scale[i], after.token[i]);
          map.set(k, byKey.get(k) as number);
        }
      }
      accumulated[lh] = map;
    }
  };

  const policyName = `schedule:${schedule.method}@${schedule.budget.given}`;
  return {
    name: policyName,
    schedule,
    ...(schedule.lowRank ? { sigma: schedule.lowRank.sigma ?? 0 } : {}),
    afterScale(t: number, cache: CacheStore, obs: ScaleObservation) {
      if (cache.numLayers !== L || cache.numHeads !== H)
        throw new Error(`${policyName}: cache is ${cache.numLayers}×${cache.numHeads}, schedule is for ${L}×${H}`);
      if (!(t >= 0 && t <= K - 2)) throw new Error(`${policyName}: afterScale(${t}) outside 0..${K - 2}`);
      if (t === 0) accumulated = Array.from({ length: N }, () => new Map());
      if (t === 0 && schedule.lowRank) checkLowRankCache(schedule, cache, policyName);
      for (let lh = 0; lh < N; lh++) {
        if (schedule.kind === "static") {
          const mask = schedule.keep[(t + 1) * N + lh];
          cache.keepWhere(Math.floor(lh / H), lh % H, (s) => ((mask >>> s) & 1) === 1);
        } else {
          enforceDynamic(t, cache, obs, lh);
        }
        const got = cache.length(Math.floor(lh / H), lh % H);
        const want = expected[t + 1][lh];
        if (got !== want) {
          throw new Error(`${policyName}: layer ${Math.floor(lh / H)} head ${lh % H} holds ${got} entries entering scale ${t + 1}, the schedule says ${want}`);
        }
      }
    },
  };
}

/** A low-rank schedule runs only on the latent cache of its own variant (same widths and head groups). */
function checkLowRankCache(schedule: Schedule, cache: CacheStore, name: string): void {
  const lr = schedule.lowRank;
  if (!lr) return;
  if (!cache.lowRank)
    throw new Error(
      `${name}: the schedule is low-rank (ReCalKV variant ${lr.variant}) but the model runs the full-width step graph: load the variant (VarModel.lowRank("${lr.variant}"))`,
    );
  const { layout, sigma } = cache.lowRank;
  if (layout.keyWidth !== lr.keyWidth || layout.valueWidth !== lr.valueWidth || JSON.stringify(layout.groups) !== JSON.stringify(lr.groups)) {
    throw new Error(
      `${name}: the schedule's low-rank layout (variant ${lr.variant}: key width ${lr.keyWidth}, value width ${lr.valueWidth}, groups ${JSON.stringify(lr.groups)}) differs from the loaded variant's (key width ${layout.keyWidth}, value width ${layout.valueWidth}, groups ${JSON.stringify(layout.groups)})`,
    );
  }
  if (sigma !== (lr.sigma ?? 0))
    throw new Error(
      `${name}: the schedule holds source scales < ${lr.sigma ?? 0} exact (lowRank.sigma) but the cache holds scales < ${sigma} exact: generate with the schedule's policy (or sigma = ${lr.sigma ?? 0})`,
    );
}

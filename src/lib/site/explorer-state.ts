// The head explorer's state and its URL form (pure; src/lib/site/explorer.ts keeps the state in the query
// string with history.replaceState, so a view can be shared as a link).
import { type HeadMetrics, METRIC_NAMES } from "../metrics/heads.js";
import { type Branch, BRANCHES } from "./explorer-data.js";

export type MetricName = keyof HeadMetrics;

export interface ExplorerState {
  image: number;
  branch: Branch;
  layer: number;
  head: number;
  /** extra heads combined with the locked one, as l*H+h */
  combine: number[];
  agg: "mean" | "max";
  metric: MetricName;
  sort: boolean;
  /** target scale whose query rows the detail shows, −1 = every scale */
  scale: number;
  /** clicked token (absolute index in the stored grid), −1 = none */
  patch: number;
  dir: "gives" | "receives";
  norm: "global" | "head";
  color: "log" | "linear";
  sink: boolean;
  cmp: "none" | "head" | "image" | "schedule";
  cmpLayer: number;
  cmpHead: number;
  cmpImage: number;
  sched: string;
  budget: number;
}

export const DEFAULT_STATE: ExplorerState = {
  image: 0,
  branch: "cond",
  layer: 0,
  head: 0,
  combine: [],
  agg: "mean",
  metric: "historyShare",
  sort: false,
  scale: -1,
  patch: -1,
  dir: "gives",
  norm: "head",
  color: "log",
  sink: false,
  cmp: "none",
  cmpLayer: 0,
  cmpHead: 1,
  cmpImage: 1,
  sched: "heatkv",
  budget: 30,
};

const KEYS: Record<keyof ExplorerState, string> = {
  image: "img",
  branch: "br",
  layer: "l",
  head: "h",
  combine: "with",
  agg: "agg",
  metric: "metric",
  sort: "sort",
  scale: "t",
  patch: "q",
  dir: "dir",
  norm: "norm",
  color: "color",
  sink: "sink",
  cmp: "cmp",
  cmpLayer: "cl",
  cmpHead: "ch",
  cmpImage: "ci",
  sched: "sched",
  budget: "budget",
};

/** State → query string (only fields that differ from the defaults). */
export function encodeState(s: ExplorerState): string {
  const p = new URLSearchParams();
  for (const k of Object.keys(KEYS) as (keyof ExplorerState)[]) {
    const v = s[k];
    const d = DEFAULT_STATE[k];
    if (JSON.stringify(v) === JSON.stringify(d)) continue;
    p.set(KEYS[k], Array.isArray(v) ? v.join(",") : typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  return p.toString();
}

/** Query string → state; unknown or invalid values fall back to the defaults. */
export function decodeState(query: string, limits?: { numLayers: number; numHeads: number; images: number; scales: number; tokens: number }): ExplorerState {
  const p = new URLSearchParams(query);
  const s: ExplorerState = { ...DEFAULT_STATE, combine: [] };
  const int = (k: keyof ExplorerState, lo: number, hi: number) => {
    const v = p.get(KEYS[k]);
    if (v === null) return;
    const n = Number(v);
    if (Number.isInteger(n) && n >= lo && n < hi) (s as unknown as Record<string, number>)[k] = n;
  };
  const one = <T extends string>(k: keyof ExplorerState, options: readonly T[]) => {
    const v = p.get(KEYS[k]);
    if (v !== null && (options as readonly string[]).includes(v)) (s as unknown as Record<string, string>)[k] = v;
  };
  const lim = limits ?? { numLayers: 1e9, numHeads: 1e9, images: 1e9, scales: 1e9, tokens: 1e9 };
  int("image", 0, lim.images);
  int("cmpImage", 0, lim.images);
  int("layer", 0, lim.numLayers);
  int("cmpLayer", 0, lim.numLayers);
  int("head", 0, lim.numHeads);
  int("cmpHead", 0, lim.numHeads);
  int("scale", -1, lim.scales);
  int("patch", -1, lim.tokens);
  int("budget", 1, 101);
  one("branch", BRANCHES);
  one("agg", ["mean", "max"] as const);
  one("metric", METRIC_NAMES);
  one("dir", ["gives", "receives"] as const);
  one("norm", ["global", "head"] as const);
  one("color", ["log", "linear"] as const);
  one("cmp", ["none", "head", "image", "schedule"] as const);
  const sched = p.get(KEYS.sched);
  if (sched && /^[a-z0-9_+-]+$/.test(sched)) s.sched = sched;
  for (const k of ["sort", "sink"] as const) if (p.has(KEYS[k])) s[k] = p.get(KEYS[k]) === "1";
  const w = p.get(KEYS.combine);
  if (w)
    s.combine = [
      ...new Set(
        w
          .split(",")
          .map(Number)
          .filter((n) => Number.isInteger(n) && n >= 0 && n < lim.numLayers * lim.numHeads),
      ),
    ];
  return s;
}

// What every view of the head explorer shares: the set's dimensions, labels, per-image head rows, the
// matrix cache and the current state (read through getters, changed only through update()). Labels and the
// combination of several heads' matrices are pure functions, tested in tests/site/explorer-context.test.ts.
import { LOG8, type ScaleLayout } from "../../metrics/heads.js";
import { type Branch, type ExplorerIndex, type ExplorerSource, type HeadRow, MatrixCache, type PackedMatrix } from "../explorer-data.js";
import type { ExplorerState } from "../explorer-state.js";

export type ExportView = "overview" | "detail" | "compare" | "pyramid";

/** What a cache schedule keeps: keep(t, s, layer, head) for static (whole-block) schedules. */
export interface ScheduleView {
  label: string;
  keep(target: number, source: number, layer: number, head: number): boolean;
}
export type ScheduleProvider = (method: string, budgetPercent: number) => ScheduleView | { error: string };

export interface ExplorerOptions {
  /** static schedule methods offered for the comparison */
  scheduleMethods?: string[];
  schedule?: ScheduleProvider;
  /** sync the state to location (default true) */
  url?: boolean;
  width?: number;
}

/** Layers, heads, scales and tokens (stored grid) of a set. */
export interface Dims {
  numLayers: number;
  numHeads: number;
  scales: number;
  tokens: number;
}

export const headLabel = (lh: number, numHeads: number): string => `L${Math.floor(lh / numHeads)}·H${lh % numHeads}`;
export const imageLabel = (idx: ExplorerIndex, i: number): string => `${idx.images[i].className} · seed ${idx.images[i].seed}`;
export const scaleLabel = (patchNums: readonly number[], t: number): string => `${t} (${patchNums[t]}×${patchNums[t]})`;

/** The locked head first, then the combined ones (l·H + h). */
export const selectedHeads = (state: Pick<ExplorerState, "layer" | "head" | "combine">, numHeads: number): number[] => [
  state.layer * numHeads + state.head,
  ...state.combine,
];

/** Rows of one image and branch indexed by l·H + h (holes where a head has no row). */
export function headRowIndex(rows: readonly HeadRow[], dims: Pick<Dims, "numLayers" | "numHeads">): (image: number, branch: Branch) => HeadRow[] {
  const by = new Map<string, HeadRow[]>();
  for (const r of rows) {
    const k = `${r.image}/${r.branch}`;
    if (!by.has(k)) by.set(k, []);
    by.get(k)!.push(r);
  }
  return (image, branch) => {
    const out: HeadRow[] = new Array(dims.numLayers * dims.numHeads);
    for (const r of by.get(`${image}/${branch}`) ?? []) out[r.layer * dims.numHeads + r.head] = r;
    return out;
  };
}

/**
 * Several heads' packed log8 matrices as one: one head stays in codes; max = the max of the codes (codes are
 * monotone in the value, decoded once later); mean = the mean of the decoded values (Float32Array).
 */
export function combineMatrices(ms: readonly Uint8Array[], agg: "mean" | "max"): PackedMatrix {
  if (ms.length === 1) return ms[0];
  if (agg === "max") {
    const c = new Uint8Array(ms[0].length);
    for (const x of ms) for (let i = 0; i < c.length; i++) if (x[i] > c[i]) c[i] = x[i];
    return c;
  }
  const w = 1 / ms.length;
  const out = new Float32Array(ms[0].length);
  for (const x of ms) for (let i = 0; i < out.length; i++) out[i] += LOG8[x[i]] * w;
  return out;
}

/** A value of a packed matrix: a log8 code decoded, or a float as is. */
export const packedValue = (A: PackedMatrix, i: number): number => (A instanceof Uint8Array ? LOG8[A[i]] : A[i]);

export interface ExplorerContext {
  source: ExplorerSource;
  idx: ExplorerIndex;
  dims: Dims;
  lay: ScaleLayout;
  /** stored token grid per scale (patchNums unless pooled) */
  grid: number[];
  patchNums: number[];
  /** the set's sink-scale count (metric rules) */
  sigma: number;
  opts: ExplorerOptions;
  matrices: MatrixCache;
  headRows(image: number, branch: Branch): HeadRow[];
  hasMatrices(heads: readonly number[]): boolean;
  /** the locked head, or the mean/max of it and the combined ones (memoised on the last request) */
  selectedMatrix(image: number, branch: Branch, heads: readonly number[]): Promise<PackedMatrix>;
  state(): ExplorerState;
  update(change: Partial<ExplorerState>): Promise<void>;
  /** PNG / SVG buttons of a view */
  exportButtons(view: ExportView): HTMLElement;
  headLabel(lh: number): string;
  imageLabel(i: number): string;
  scaleLabel(t: number): string;
}

export function createContext(
  source: ExplorerSource,
  opts: ExplorerOptions,
  hooks: Pick<ExplorerContext, "state" | "update" | "exportButtons">,
): ExplorerContext {
  const idx = source.index;
  const { numLayers, numHeads, patchNums } = idx.model;
  const matrices = new MatrixCache(source);
  const lay = matrices.layout;
  const dims: Dims = { numLayers, numHeads, scales: patchNums.length, tokens: lay.total };
  let memo: { key: string; m: Promise<PackedMatrix> } | null = null;
  return {
    source,
    idx,
    dims,
    lay,
    grid: idx.gridNums ?? patchNums,
    patchNums,
    sigma: idx.metricRules.sigma,
    opts,
    matrices,
    headRows: headRowIndex(source.rows, dims),
    hasMatrices: (heads) => heads.every((lh) => matrices.hasMatrix(Math.floor(lh / numHeads), lh % numHeads)),
    selectedMatrix(image, branch, heads) {
      const agg = hooks.state().agg;
      const key = `${image}/${branch}/${agg}/${heads.join(",")}`;
      if (memo?.key === key) return memo.m;
      const m = Promise.all(heads.map((lh) => matrices.get(image, branch, Math.floor(lh / numHeads), lh % numHeads))).then((ms) => combineMatrices(ms, agg));
      memo = { key, m };
      return m;
    },
    ...hooks,
    headLabel: (lh) => headLabel(lh, numHeads),
    imageLabel: (i) => imageLabel(idx, i),
    scaleLabel: (t) => scaleLabel(patchNums, t),
  };
}

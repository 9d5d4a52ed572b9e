// Data side of the head explorer: the index, the per-head summary rows (Arrow) and lazily loaded per-head
// attention matrices (packed log8, src/lib/metrics/heads.ts). Browser-safe; the /explorer page builds a
// source from Framework FileAttachments, the explorer benchmark from URLs of a synthetic big-shape set.
import { tableFromIPC } from "apache-arrow";
import { METRIC_NAMES, type HeadMetrics, scaleLayout, type ScaleLayout } from "../metrics/heads.js";

export type Branch = "cond" | "uncond";
export const BRANCHES: Branch[] = ["cond", "uncond"];

export interface ExplorerIndex {
  format: string;
  model: { id: string; patchNums: number[]; numLayers: number; numHeads: number; classes: string[]; imageSize: number; totalTokens: number };
  /**
   * Token grid per scale of the stored matrices: equal to patchNums for the demo; for very large models a
   * scale of p × p tokens is pooled to g × g cells (g = gridNums[s] < p, documented per set): a cell
   * carries the summed attention of the tokens it covers, so rows still sum to 1.
   */
  gridNums?: number[];
  images: { id: number; classIndex: number; className: string; seed: number }[];
  layout: { pyramidBytes: number; headBytes: number };
  metricRules: { sigma: number; topK: number };
  /** heads with stored matrices (l*H+h); absent = every head */
  matrixHeads?: number[];
  note?: string;
}

export interface HeadRow extends HeadMetrics {
  image: number;
  branch: Branch;
  layer: number;
  head: number;
  scalekv: string;
  hack: string;
  /** K × K scale mass, [t * K + s] */
  mass: Float64Array;
}

export interface ExplorerSource {
  index: ExplorerIndex;
  rows: HeadRow[];
  /** packed log8 bytes of one head's matrix */
  head(image: number, branch: Branch, layer: number, head: number): Promise<Uint8Array>;
  /** RGB bytes [S, S, 3] per scale, or null when the set has no images */
  pyramid(image: number): Promise<Uint8Array[] | null>;
}

/** Arrow IPC of heads.arrow → rows (m{t}_{s} columns folded into `mass`). */
export function parseHeadRows(bytes: Uint8Array | ArrayBuffer, K: number): HeadRow[] {
  const table = tableFromIPC(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  const col = (n: string) => table.getChild(n)?.toArray() as ArrayLike<unknown>;
  const n = table.numRows;
  const [image, layer, head] = ["image", "layer", "head"].map((c) => col(c) as ArrayLike<number>);
  const branch = table.getChild("branch")!;
  const scalekv = table.getChild("scalekv")!;
  const hack = table.getChild("hack")!;
  const metrics = METRIC_NAMES.map((m) => col(m) as ArrayLike<number>);
  const massCols: { t: number; s: number; v: ArrayLike<number> }[] = [];
  for (let t = 0; t < K; t++) for (let s = 0; s <= t; s++) massCols.push({ t, s, v: col(`m${t}_${s}`) as ArrayLike<number> });
  const rows: HeadRow[] = [];
  for (let i = 0; i < n; i++) {
    const mass = new Float64Array(K * K);
    for (const c of massCols) mass[c.t * K + c.s] = Number(c.v[i]);
    const r = {
      image: Number(image[i]),
      branch: branch.get(i) as Branch,
      layer: Number(layer[i]),
      head: Number(head[i]),
      scalekv: String(scalekv.get(i)),
      hack: String(hack.get(i)),
      mass,
    } as HeadRow;
    METRIC_NAMES.forEach((m, j) => (r[m] = Number(metrics[j][i])));
    rows.push(r);
  }
  return rows;
}

export interface FileLike {
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The demo's source: one file per image (pyramid, then branch × layer × head packed matrices). */
export function imageFileSource(index: ExplorerIndex, rows: HeadRow[], files: FileLike[]): ExplorerSource {
  const cache = new Map<number, Promise<Uint8Array>>();
  const bytes = (i: number) => {
    if (!files[i]) throw new Error(`explorer: no file for image ${i} (the page lists ${files.length}, index.json ${index.images.length})`);
    if (!cache.has(i))
      cache.set(
        i,
        files[i].arrayBuffer().then((b) => new Uint8Array(b)),
      );
    return cache.get(i)!;
  };
  const { numLayers: NL, numHeads: H, imageSize: S, patchNums } = index.model;
  const { pyramidBytes, headBytes } = index.layout;
  return {
    index,
    rows,
    async head(image, branch, layer, head) {
      const b = await bytes(image);
      const off = pyramidBytes + ((BRANCHES.indexOf(branch) * NL + layer) * H + head) * headBytes;
      return b.subarray(off, off + headBytes);
    },
    async pyramid(image) {
      const b = await bytes(image);
      return patchNums.map((_, t) => b.subarray(t * S * S * 3, (t + 1) * S * S * 3));
    },
  };
}

/** A source served over HTTP as one file per head (the benchmark's synthetic big shapes). */
export function urlSource(index: ExplorerIndex, rows: HeadRow[], base: string): ExplorerSource {
  return {
    index,
    rows,
    async head(image, branch, layer, head) {
      const r = await fetch(`${base}/head-${image}-${branch}-${layer}-${head}.bin`);
      if (!r.ok) throw new Error(`explorer: head L${layer}·H${head} of image ${image} (${branch}) has no stored matrix (${r.status})`);
      return new Uint8Array(await r.arrayBuffer());
    },
    async pyramid(image) {
      const r = await fetch(`${base}/pyramid-${image}.bin`);
      if (!r.ok) return null;
      const b = new Uint8Array(await r.arrayBuffer());
      const S = index.model.imageSize;
      return index.model.patchNums.map((_, t) => b.subarray(t * S * S * 3, (t + 1) * S * S * 3));
    },
  };
}

/**
 * A head's matrix in the packed block-causal layout (heads.ts): A[q, k] = m[layout.rowStart[q] + k] for
 * k < visible keys of q — log8 codes as stored (Uint8Array; value = LOG8[code]) or probabilities (Float32Array,
 * e.g. a combination of heads). Half the memory of a dense L × L array, a quarter as codes; nothing to expand.
 */
export type PackedMatrix = Uint8Array | Float32Array;

/** Matrix cache in front of a source (the last `size` heads stay in memory, as codes). */
export class MatrixCache {
  readonly layout: ScaleLayout;
  private readonly map = new Map<string, Promise<Uint8Array>>();
  constructor(
    readonly source: ExplorerSource,
    private readonly size = 24,
  ) {
    this.layout = scaleLayout(source.index.gridNums ?? source.index.model.patchNums);
  }

  get(image: number, branch: Branch, layer: number, head: number): Promise<Uint8Array> {
    const key = `${image}/${branch}/${layer}/${head}`;
    let p = this.map.get(key);
    if (p) {
      this.map.delete(key);
      this.map.set(key, p);
      return p;
    }
    p = this.source.head(image, branch, layer, head).then((b) => {
      if (b.length !== this.layout.packedSize) throw new Error(`explorer: head L${layer}·H${head} has ${b.length} bytes, expected ${this.layout.packedSize}`);
      return b;
    });
    p.catch(() => this.map.delete(key));
    this.map.set(key, p);
    while (this.map.size > this.size) this.map.delete(this.map.keys().next().value!);
    return p;
  }

  hasMatrix(layer: number, head: number): boolean {
    const m = this.source.index.matrixHeads;
    return !m || m.includes(layer * this.source.index.model.numHeads + head);
  }
}

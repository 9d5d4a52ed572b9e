/**
 * Physically compact LOW-RANK (ReCalKV) cache for a step-graph variant exported by train/recalkv.py.
 *
 * Per (layer, group of heads) one key-latent array [rows, P_g, r_k] holding the UNION of the entries the
 * group's heads keep; per (layer, head) a value-latent array [rows, P_h, r_v] and, when the head keeps a
 * strict subset of its group's entries, an index list [P_h] (Int32) of its rows in the group latent (the
 * graph gathers them). When a head drops an entry that no other head of its group still uses, the group
 * latent is compacted, so a dropped entry costs no memory. `bytes()` counts exactly what is held: the key
 * latents, the value latents and the index lists (a head whose entries equal the group's has none; its
 * identity index is built only while feeding the graph, like the graph's own temporaries).
 *
 * Hybrid (exact sink scales): entries of scales < `sigma` are held EXACT per head (full-width, bias-free
 * k − b_k and v − b_v arrays [rows, P_e, d], from the graph's present_k_L{l} / present_v_L{l}); only later
 * scales' entries become latents. A head's entries are [exact..., latent...] — the order of the graph's
 * attention columns [P_e, P_h, n] — and `keep()` indices refer to that order. `bytes()` adds the exact
 * arrays. sigma = 0 (default) is the all-latent cache.
 *
 * Policies see the same per-(layer, head) entry API as KVCache (CacheStore).
 */
import type { Tensor } from "./backend.js";
import type { LowRankLayout } from "../model/lowrank.js";
import type { CacheStore, EntryMeta, LowRankCacheFacts } from "./kvcache.js";
import { appendRows, appendScale, appendToken, checkKeepIndices, gatherRows, indicesWhere, pickMeta } from "./entries.js";

interface GroupLatent {
  /** [rows, P_g, r_k] */
  kz: Float32Array;
  scale: Int16Array;
  token: Int32Array;
}

interface HeadLatent extends EntryMeta {
  /** exact entries (the first `ne` of scale/token): [rows, P_e, d] each */
  k: Float32Array;
  v: Float32Array;
  ne: number;
  /** [rows, P_h, r_v] (P_h = scale.length − ne) */
  vz: Float32Array;
  /** rows of the group latent, strictly increasing; null = identity (the head holds all of its group's entries) */
  idx: Int32Array | null;
}

export class LatentCache implements CacheStore {
  private readonly groupOf: number[][];
  private readonly gl: GroupLatent[][];
  private readonly hl: HeadLatent[];

  /** scales < sigma are held exact (full width); 0 = all latent */
  readonly sigma: number;
  /** full head width d of the exact entries */
  readonly headDim: number;

  /** CacheStore.lowRank: the layout and σ a low-rank schedule's policy checks before it enforces anything */
  get lowRank(): LowRankCacheFacts {
    return { layout: this.layout, sigma: this.sigma };
  }

  constructor(
    readonly numLayers: number,
    readonly numHeads: number,
    readonly layout: LowRankLayout,
    readonly rows: number,
    exact: { sigma?: number; headDim?: number } = {},
  ) {
    for (const [name, v] of Object.entries({ numLayers, numHeads, rows, keyWidth: layout.keyWidth, valueWidth: layout.valueWidth })) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`LatentCache: ${name} must be a positive integer, got ${v}`);
    }
    this.sigma = exact.sigma ?? 0;
    this.headDim = exact.headDim ?? 0;
    if (!Number.isInteger(this.sigma) || this.sigma < 0) throw new Error(`LatentCache: sigma must be an integer ≥ 0, got ${this.sigma}`);
    if (this.sigma > 0 && !(Number.isInteger(this.headDim) && this.headDim > 0))
      throw new Error(`LatentCache: headDim must be a positive integer when sigma > 0, got ${exact.headDim}`);
    if (!Array.isArray(layout.groups) || layout.groups.length !== numLayers)
      throw new Error(`LatentCache: groups must list ${numLayers} layers, got ${layout.groups?.length}`);
    this.groupOf = layout.groups.map((gs, l) => {
      const of = new Array<number>(numHeads).fill(-1);
      gs.forEach((g, gi) =>
        g.forEach((h) => {
          if (!(Number.isInteger(h) && h >= 0 && h < numHeads) || of[h] !== -1)
            throw new Error(`LatentCache: groups[${l}] must partition heads 0..${numHeads - 1}, got ${JSON.stringify(gs)}`);
          of[h] = gi;
        }),
      );
      if (of.includes(-1)) throw new Error(`LatentCache: groups[${l}] must partition heads 0..${numHeads - 1}, got ${JSON.stringify(gs)}`);
      return of;
    });
    this.gl = layout.groups.map((gs) => gs.map(() => ({ kz: new Float32Array(0), scale: new Int16Array(0), token: new Int32Array(0) })));
    this.hl = Array.from({ length: numLayers * numHeads }, () => ({
      k: new Float32Array(0),
      v: new Float32Array(0),
      ne: 0,
      vz: new Float32Array(0),
      idx: null,
      scale: new Int16Array(0),
      token: new Int32Array(0),
    }));
  }

  private at(layer: number, head: number): number {
    if (!(layer >= 0 && layer < this.numLayers && head >= 0 && head < this.numHeads)) {
      throw new RangeError(`LatentCache: no (layer ${layer}, head ${head}) in a ${this.numLayers}x${this.numHeads} cache`);
    }
    return layer * this.numHeads + head;
  }

  head(layer: number, head: number): EntryMeta {
    return this.hl[this.at(layer, head)];
  }

  /** The group latent of (layer, group): its length, its entries (for tests and plots). */
  group(layer: number, group: number): Readonly<GroupLatent> {
    return this.gl[layer][group];
  }

  /** Exact entries held by (layer, head) (the first ones of its entry list). */
  exactLength(layer: number, head: number): number {
    return this.hl[this.at(layer, head)].ne;
  }

  /** Rows of the group latent used by (layer, head), or null when it uses all of them. */
  indexOf(layer: number, head: number): Int32Array | null {
    return this.hl[this.at(layer, head)].idx;
  }

  length(layer: number, head: number): number {
    return this.head(layer, head).scale.length;
  }

  lengths(): number[] {
    return this.hl.map((h) => h.scale.length);
  }

  entries(): number {
    let n = 0;
    for (const h of this.hl) n += h.scale.length;
    return n;
  }

  bytes(): number {
    let b = 0;
    for (const gs of this.gl) for (const g of gs) b += g.kz.byteLength;
    for (const h of this.hl) b += h.k.byteLength + h.v.byteLength + h.vz.byteLength + (h.idx ? h.idx.byteLength : 0);
    return b;
  }

  /**
   * Append scale `scale`'s entries: for scale < sigma the exact present_k_L{l} / present_v_L{l} [rows,H,n,d],
   * else the latents present_kz_L{l} [rows,G,n,r_k] / present_vz_L{l} [rows,H,n,r_v].
   */
  appendStep(out: Record<string, Tensor>, scale: number): void {
    for (let l = 0; l < this.numLayers; l++) {
      if (scale < this.sigma) this.appendExactLayer(l, out[`present_k_L${l}`], out[`present_v_L${l}`], scale);
      else this.appendLayer(l, out[`present_kz_L${l}`], out[`present_vz_L${l}`], scale);
    }
  }

  /** Append exact (full-width) entries [rows, H, n, d]; only before any latent entry (scales < sigma come first). */
  appendExactLayer(layer: number, presentK: Tensor, presentV: Tensor, scale: number): void {
    const H = this.numHeads;
    const d = this.headDim;
    const rows = this.rows;
    if (!presentK || !presentV)
      throw new Error(
        `LatentCache.appendExactLayer(L${layer}): present_k / present_v missing — is the step graph a ReCalKV variant with exact entries (re-run train/recalkv.py)?`,
      );
    const [r1, h1, n, d1] = presentK.dims;
    if (r1 !== rows || h1 !== H || d1 !== d || presentV.dims.join() !== presentK.dims.join()) {
      throw new Error(`LatentCache.appendExactLayer(L${layer}): expected k and v [${rows}, ${H}, n, ${d}], got [${presentK.dims}] and [${presentV.dims}]`);
    }
    const pk = presentK.data as Float32Array;
    const pv = presentV.data as Float32Array;
    for (let h = 0; h < H; h++) {
      const i = layer * H + h;
      const hc = this.hl[i];
      if (hc.scale.length !== hc.ne)
        throw new Error(
          `LatentCache.appendExactLayer(L${layer}): head ${h} already holds latent entries; exact scales (< sigma = ${this.sigma}) must come first`,
        );
      const P = hc.ne;
      const at = (r: number) => (r * H + h) * n * d;
      const k = appendRows(hc.k, rows, P, n, d, pk, at);
      const v = appendRows(hc.v, rows, P, n, d, pv, at);
      this.hl[i] = { ...hc, k, v, ne: P + n, scale: appendScale(hc.scale, n, scale), token: appendToken(hc.token, n) };
    }
  }

  appendLayer(layer: number, presentKz: Tensor, presentVz: Tensor, scale: number): void {
    const G = this.layout.groups[layer].length;
    const { keyWidth: rk, valueWidth: rv } = this.layout;
    const rows = this.rows;
    const H = this.numHeads;
    if (!presentKz || !presentVz) throw new Error(`LatentCache.appendLayer(L${layer}): present_kz / present_vz missing — is the step graph a ReCalKV variant?`);
    const [r1, g1, n, k1] = presentKz.dims;
    const [r2, h2, n2, v2] = presentVz.dims;
    if (r1 !== rows || g1 !== G || k1 !== rk || r2 !== rows || h2 !== H || n2 !== n || v2 !== rv) {
      throw new Error(
        `LatentCache.appendLayer(L${layer}): expected kz [${rows}, ${G}, n, ${rk}] and vz [${rows}, ${H}, n, ${rv}], got [${presentKz.dims}] and [${presentVz.dims}]`,
      );
    }
    const pk = presentKz.data as Float32Array;
    const pv = presentVz.data as Float32Array;
    const oldGroupLen: number[] = [];
    for (let g = 0; g < G; g++) {
      const gr = this.gl[layer][g];
      const P = gr.scale.length;
      oldGroupLen.push(P);
      const kz = appendRows(gr.kz, rows, P, n, rk, pk, (r) => (r * G + g) * n * rk);
      this.gl[layer][g] = { kz, scale: appendScale(gr.scale, n, scale), token: appendToken(gr.token, n) };
    }
    for (let h = 0; h < H; h++) {
      const i = layer * H + h;
      const hc = this.hl[i];
      const P = hc.scale.length - hc.ne;
      const vz = appendRows(hc.vz, rows, P, n, rv, pv, (r) => (r * H + h) * n * rv);
      const Pg = oldGroupLen[this.groupOf[layer][h]];
      let idx: Int32Array | null = null;
      if (hc.idx) {
        idx = new Int32Array(P + n);
        idx.set(hc.idx);
        for (let j = 0; j < n; j++) idx[P + j] = Pg + j;
      }
      this.hl[i] = { ...hc, vz, idx, scale: appendScale(hc.scale, n, scale), token: appendToken(hc.token, n) };
    }
  }

  keep(layer: number, head: number, indices: ArrayLike<number>): void {
    const i = this.at(layer, head);
    const hc = this.hl[i];
    const P = hc.scale.length;
    const m = indices.length;
    checkKeepIndices(`LatentCache.keep(L${layer}, H${head})`, indices, P);
    if (m === P) return;
    const ne = hc.ne;
    const d = this.headDim;
    // exact part: indices < ne, in order
    let me = 0;
    while (me < m && indices[me] < ne) me++;
    const exactPicks = me < ne ? (Array.prototype.slice.call(indices, 0, me) as number[]) : null;
    const k = exactPicks ? gatherRows(hc.k, this.rows, ne, d, exactPicks) : hc.k;
    const v = exactPicks ? gatherRows(hc.v, this.rows, ne, d, exactPicks) : hc.v;
    // latent part: indices ≥ ne, relative to the latent entries
    const Pl = P - ne;
    const ml = m - me;
    const lat = Int32Array.from({ length: ml }, (_, j) => indices[me + j] - ne);
    let vz = hc.vz;
    let idx = hc.idx;
    if (ml < Pl) {
      vz = gatherRows(hc.vz, this.rows, Pl, this.layout.valueWidth, lat);
      idx = hc.idx ? lat.map((j) => hc.idx![j]) : lat;
    }
    const { scale: sc, token: tk } = pickMeta(hc, indices);
    this.hl[i] = { k, v, ne: me, vz, idx, scale: sc, token: tk };
    if (ml < Pl) this.compact(layer, this.groupOf[layer][head]);
  }

  keepWhere(layer: number, head: number, pred: (scale: number, token: number) => boolean): void {
    this.keep(layer, head, indicesWhere(this.head(layer, head), pred));
  }

  /** Drop group rows no head uses; remap the heads' indices; identity indices become null. */
  private compact(layer: number, g: number): void {
    const gr = this.gl[layer][g];
    const Pg = gr.scale.length;
    const heads = this.layout.groups[layer][g];
    const used = new Uint8Array(Pg);
    for (const h of heads) {
      const hc = this.hl[layer * this.numHeads + h];
      if (hc.idx) for (const r of hc.idx) used[r] = 1;
      else used.fill(1);
    }
    let m = 0;
    const remap = new Int32Array(Pg).fill(-1);
    for (let r = 0; r < Pg; r++) if (used[r]) remap[r] = m++;
    if (m < Pg) {
      const kept = Int32Array.from({ length: m });
      for (let r = 0; r < Pg; r++) if (remap[r] >= 0) kept[remap[r]] = r;
      const kz = gatherRows(gr.kz, this.rows, Pg, this.layout.keyWidth, kept);
      const { scale: sc, token: tk } = pickMeta(gr, kept);
      this.gl[layer][g] = { kz, scale: sc, token: tk };
    }
    for (const h of heads) {
      const hc = this.hl[layer * this.numHeads + h];
      if (!hc.idx) continue;
      const idx = m < Pg ? hc.idx.map((r) => remap[r]) : hc.idx;
      hc.idx = idx.length === m ? null : idx; // strictly increasing: same length as the group ⇔ identity
    }
  }

  feeds(): Record<string, Tensor> {
    const f: Record<string, Tensor> = {};
    const { keyWidth: rk, valueWidth: rv } = this.layout;
    for (let l = 0; l < this.numLayers; l++) {
      this.gl[l].forEach((gr, g) => {
        f[`past_kz_L${l}_G${g}`] = { data: gr.kz, dims: [this.rows, gr.scale.length, rk] };
      });
      for (let h = 0; h < this.numHeads; h++) {
        const hc = this.hl[l * this.numHeads + h];
        const P = hc.scale.length - hc.ne;
        f[`past_k_L${l}_H${h}`] = { data: hc.k, dims: [this.rows, hc.ne, this.headDim] };
        f[`past_v_L${l}_H${h}`] = { data: hc.v, dims: [this.rows, hc.ne, this.headDim] };
        const idx = new BigInt64Array(P);
        for (let j = 0; j < P; j++) idx[j] = BigInt(hc.idx ? hc.idx[j] : j);
        f[`kidx_L${l}_H${h}`] = { data: idx, dims: [P] };
        f[`past_vz_L${l}_H${h}`] = { data: hc.vz, dims: [this.rows, P, rv] };
      }
    }
    return f;
  }
}

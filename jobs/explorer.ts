/**
 * Head-explorer data (src/data/explorer.tar.ts → the /explorer page): full per-query attention of a few
 * chosen images of the demo model, stored compactly, plus per-head summaries.
 *
 * Per image (class × seed, full cache, the calibration sampler: CFG 3, top-p 0.95):
 *   1. generate with the TypeScript runtime (step.onnx) → tokens per scale;
 *   2. replay vq_update.onnx over the tokens → the teacher-forcing inputs x_in (next_x rows) and the running
 *      f_hat after every scale, decoded with vq_decode.onnx → one 64×64 image per scale (the pyramid);
 *   3. run attention.onnx (train/export_attention.py: teacher-forced forward, block-causal mask) on
 *      (labels [class, null], x_in) → attention [2 rows, H, L, L] per layer.
 * Outputs (a tar archive; the page reads members as FileAttachment("data/explorer/<name>")):
 *   index.json         model shape, images, byte layout of the image files, metric rules
 *   heads.arrow        one row per (image, branch, layer, head): the metrics of src/lib/metrics/heads.ts and
 *                      the K × K scale-mass summary (columns m{t}_{s}); also written as Parquet to
 *                      .heatkv/explorer/heads.parquet (the store; Node/DuckDB read it)
 *   image-<i>.bin      K × S × S × 3 RGB bytes (pyramid), then for branch cond then uncond, for l, h: the
 *                      head's packed block-causal attention in log8 codes (heads.ts: packHead), loaded lazily
 */
import { join } from "node:path";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import { headMetrics, headScaleMass, labelHeads, METRIC_NAMES, packHead, scaleLayout } from "../src/lib/metrics/heads.js";
import type { Session, Tensor } from "../src/lib/var/backend.js";
import type { VarModel } from "../src/lib/var/runtime.js";
import { DEFAULT_SETTINGS } from "./calibrate.js";
import { writeAtomic } from "../node/files.js";
import { folderReader, loadNodeModel, MODEL_DIR, nodeBackend } from "../node/node-backend.js";
import { type Row, type Schema, toParquet } from "../node/parquet.js";

export const EXPLORER_FORMAT = "heatkv-explorer/1";
/** the chosen images: class names × seeds (the page's class and seed pickers) */
export const EXPLORER_CLASSES = [0, 3, 6];
export const EXPLORER_SEEDS = [1, 2];
export const EXPLORER_STORE = join(import.meta.dirname, "..", ".heatkv", "explorer", "heads.parquet");

export interface ImageAttention {
  classIndex: number;
  seed: number;
  tokens: Int32Array[];
  /** x_in [L-1, C] */
  xIn: Float32Array;
  /** per scale: RGB bytes [S, S, 3] of the decoded running f_hat */
  pyramid: Uint8Array[];
  /** attn[l]: [2, H, L, L] (row 0 cond, row 1 uncond) */
  attn: Float32Array[];
}

export class AttentionRunner {
  private constructor(
    readonly model: VarModel,
    private readonly update: Session,
    private readonly decode: Session,
    private readonly attention: Session,
  ) {}

  static async load(modelDir = MODEL_DIR): Promise<AttentionRunner> {
    const model = await loadNodeModel(modelDir);
    const read = folderReader(modelDir);
    const be = nodeBackend(1);
    const files = model.config.files;
    const [update, decode, attention] = await Promise.all([
      be.load(await read(files.vq_update), files.vq_update),
      be.load(await read(files.vq_decode), files.vq_decode),
      be.load(await read("attention.onnx"), "attention.onnx (run train/export_attention.py)"),
    ]);
    return new AttentionRunner(model, update, decode, attention);
  }

  /** Steps 1–3 of the module comment for one image. `onScale` sees the step graph's observations. */
  async image(classIndex: number, seed: number, onScale?: Parameters<VarModel["generate"]>[0]["onScale"]): Promise<ImageAttention> {
    const cfg = this.model.config;
    const { tokensPerScale, numScales: K, totalTokens } = this.model.shape;
    const gen = await this.model.generate({ classIndex, seed, ...DEFAULT_SETTINGS, onScale });
    const C = cfg.codebookDim;
    const Ls = cfg.latentSize;
    let fHat: Tensor = { data: new Float32Array(C * Ls * Ls), dims: [1, C, Ls, Ls] };
    const xIn = new Float32Array((totalTokens - 1) * C);
    const pyramid: Uint8Array[] = [];
    let at = 0;
    for (let t = 0; t < K; t++) {
      const idx = gen.tokens[t];
      const up = await this.update.run({
        f_hat: fHat,
        idx: { data: BigInt64Array.from(idx, (v) => BigInt(v)), dims: [1, idx.length] },
        scale: { data: BigInt64Array.from([BigInt(t)]), dims: [1] },
      });
      fHat = up.f_hat_next;
      if (t < K - 1) {
        const n = tokensPerScale[t + 1] * C;
        xIn.set((up.next_x.data as Float32Array).subarray(0, n), at);
        at += n;
      }
      const img = (await this.decode.run({ f_hat: fHat })).image.data as Float32Array;
      const S = cfg.imageSize;
      const rgb = new Uint8Array(S * S * 3);
      for (let p = 0; p < S * S; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(Math.min(1, Math.max(0, img[c * S * S + p])) * 255);
      pyramid.push(rgb);
    }
    const out = await this.attention.run({
      labels: { data: BigInt64Array.from([BigInt(gen.classIndex), BigInt(cfg.nullClass)]), dims: [2] },
      x_in: {
        data: (() => {
          const x = new Float32Array(2 * xIn.length);
          x.set(xIn);
          x.set(xIn, xIn.length);
          return x;
        })(),
        dims: [2, totalTokens - 1, C],
      },
    });
    const attn = Array.from({ length: cfg.numLayers }, (_, l) => out[`attn_L${l}`].data as Float32Array);
    return { classIndex: gen.classIndex, seed, tokens: gen.tokens, xIn, pyramid, attn };
  }
}

/** Minimal ustar writer (regular files only). */
export function tar(files: { name: string; data: Uint8Array }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const f of files) {
    const h = new Uint8Array(512);
    const put = (s: string, off: number) => h.set(enc.encode(s), off);
    put(f.name, 0);
    put("0000644\0", 100);
    put("0000000\0", 108);
    put("0000000\0", 116);
    put(f.data.length.toString(8).padStart(11, "0") + "\0", 124);
    put("00000000000\0", 136);
    put("        ", 148);
    put("0", 156);
    put("ustar\0", 257);
    put("00", 263);
    const sum = h.reduce((a, b) => a + b, 0);
    put(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    blocks.push(h, f.data, new Uint8Array((512 - (f.data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

export const BRANCHES = ["cond", "uncond"] as const;

export async function buildExplorerData(opts: { classes?: number[]; seeds?: number[]; store?: string } = {}): Promise<Uint8Array> {
  const runner = await AttentionRunner.load();
  const cfg = runner.model.config;
  const K = cfg.patchNums.length;
  const L = runner.model.shape.totalTokens;
  const H = cfg.numHeads;
  const lay = scaleLayout(cfg.patchNums);
  const images = (opts.classes ?? EXPLORER_CLASSES).flatMap((c) => (opts.seeds ?? EXPLORER_SEEDS).map((s) => ({ classIndex: c, seed: s })));
  const files: { name: string; data: Uint8Array }[] = [];
  const rows: Row[] = [];
  const S = cfg.imageSize;
  for (const [i, im] of images.entries()) {
    const r = await runner.image(im.classIndex, im.seed);
    const headBytes = lay.packedSize;
    const pyr = K * S * S * 3;
    const bin = new Uint8Array(pyr + 2 * cfg.numLayers * H * headBytes);
    r.pyramid.forEach((p, t) => bin.set(p, t * S * S * 3));
    const dense = new Float32Array(L * L);
    for (let b = 0; b < 2; b++) {
      const metrics = [];
      for (let l = 0; l < cfg.numLayers; l++) {
        for (let h = 0; h < H; h++) {
          dense.set(r.attn[l].subarray((b * H + h) * L * L, (b * H + h + 1) * L * L));
          bin.set(packHead(dense, lay), pyr + ((b * cfg.numLayers + l) * H + h) * headBytes);
          const m = headMetrics(dense, lay);
          const mass = headScaleMass(dense, lay);
          const row: Row = { image: i, branch: BRANCHES[b], layer: l, head: h, ...m };
          for (let t = 0; t < K; t++) for (let s = 0; s <= t; s++) row[`m${t}_${s}`] = mass[t * K + s];
          rows.push(row);
          metrics.push(m);
        }
      }
    }
    files.push({ name: `image-${i}.bin`, data: bin });
  }
  // labels per (image, branch) over its heads
  for (let g = 0; g < rows.length; g += cfg.numLayers * H) {
    const group = rows.slice(g, g + cfg.numLayers * H);
    labelHeads(group as never).forEach((lab, j) => Object.assign(group[j], { scalekv: lab.scalekv, hack: lab.hack }));
  }
  const massCols = Array.from({ length: K }, (_, t) => Array.from({ length: t + 1 }, (_, s) => `m${t}_${s}`)).flat();
  const schema: Schema = { image: "INTEGER", branch: "VARCHAR", layer: "INTEGER", head: "INTEGER", scalekv: "VARCHAR", hack: "VARCHAR" };
  for (const n of [...METRIC_NAMES, ...massCols]) schema[n] = "DOUBLE";
  const store = opts.store ?? EXPLORER_STORE;
  writeAtomic(store, await toParquet(schema, rows));
  const arrays: Record<string, unknown> = {};
  for (const [n, t] of Object.entries(schema)) {
    const col = rows.map((r) => r[n]);
    arrays[n] = t === "VARCHAR" ? col : t === "INTEGER" ? Int32Array.from(col as number[]) : Float64Array.from(col as number[]);
  }
  files.push({ name: "heads.arrow", data: tableToIPC(tableFromArrays(arrays as Parameters<typeof tableFromArrays>[0]), "file") });
  const index = {
    format: EXPLORER_FORMAT,
    model: {
      id: cfg.modelId,
      patchNums: cfg.patchNums,
      numLayers: cfg.numLayers,
      numHeads: H,
      classes: cfg.classes,
      imageSize: S,
      totalTokens: L,
      weightsHash: cfg.weightsHash,
    },
    sampler: DEFAULT_SETTINGS,
    images: images.map((im, i) => ({ id: i, classIndex: im.classIndex, className: cfg.classes[im.classIndex], seed: im.seed, file: `image-${i}.bin` })),
    layout: {
      pyramidBytes: K * S * S * 3,
      headBytes: lay.packedSize,
      encoding: "log8 (src/lib/metrics/heads.ts)",
      branches: BRANCHES,
      order: "pyramid, then branch, layer, head",
    },
    metricRules: { sigma: 3, topK: 16 },
  };
  files.unshift({ name: "index.json", data: new TextEncoder().encode(JSON.stringify(index)) });
  return tar(files);
}

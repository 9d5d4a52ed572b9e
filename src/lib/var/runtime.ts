/**
 * Next-scale generation with the demo VAR: one step graph call per scale (cond + uncond rows), sampling in
 * TypeScript, the residual update and decoder as ONNX graphs, and a physically compact KVCache that a
 * CachePolicy prunes between scales.
 */
import type { Backend, Session, Tensor } from "./backend.js";
import { type ModelConfig, type ModelShape, modelShape, parseConfig, resolveClass } from "../model/index.js";
import { type CacheStore, KVCache } from "./kvcache.js";
import { LatentCache } from "./latentcache.js";
import { LOW_RANK_MANIFEST, type LowRankVariant, findVariant, parseLowRankManifest } from "../model/index.js";
import { sha256Hex } from "../model/sha256.js";
import { checkVariantFile } from "./lowrank.js";
import { type LowRankStepFixture, lowRankSelfCheck, type SelfCheck, stepSelfCheck } from "./selfcheck.js";
import { DEFAULT_SAMPLER, guidanceAt, MAX_SEED, Rng, type SamplerOptions, sampleTokens, validateSampler } from "./sampler.js";

/** What the queries of one scale did with the cache they were given. */
export interface ScaleObservation {
  scale: number;
  /** tokens of this scale */
  tokens: number;
  /**
   * per (layer, head) at l*H+h: attention mass each key received, summed over this scale's queries,
   * [rows, P_lh + n]: first the P_lh fed cache entries, then this scale's own n keys.
   */
  attn: Float32Array[];
  /** per (layer, head): source scale / token of each fed entry (the first P_lh columns of attn) */
  fedScale: Int16Array[];
  fedToken: Int32Array[];
  rows: number;
  /** the step's logits [rows, tokens, vocab] (row 0 cond, row 1 uncond), before guidance and sampling */
  logits?: Float32Array;
}

/**
 * Decides what stays in the cache. Called after scale t's keys/values were appended (t = 0..K-2) and before
 * scale t+1 runs; prunes with cache.keep()/keepWhere(). The entries fed to scale t come first in each head's
 * storage, in the order of `observed.attn`'s first columns, followed by scale t's own n_t entries.
 */
export interface CachePolicy {
  readonly name: string;
  /**
   * low-rank (ReCalKV) variants: the sink scales σ the cache must hold at full width (source scales < σ);
   * the runtime builds the cache with it (GenerateOptions.sigma overrides). Ignored by full-width caches.
   */
  readonly sigma?: number;
  afterScale(t: number, cache: CacheStore, observed: ScaleObservation): void;
}

export interface ScaleRecord {
  scale: number;
  tokens: number;
  /** cache entries / bytes fed to this scale's step */
  cacheEntries: number;
  cacheBytes: number;
  ortMs: number;
  totalMs: number;
}

export interface GenerateOptions extends Partial<SamplerOptions> {
  classIndex: number | string;
  seed: number;
  policy?: CachePolicy;
  /**
   * low-rank variants only: the sink scales σ — cached entries of scales < σ are held exact (full width),
   * later ones as latents. Default: the policy's sigma, else 0 (all latent).
   */
  sigma?: number;
  onScale?: (rec: ScaleRecord, obs: ScaleObservation, cache: CacheStore) => void;
  /**
   * Teacher forcing: use these token ids per scale instead of sampling (the policy still sees this run's own
   * attention, i.e. what it would observe generating exactly these tokens). The RNG is not used.
   */
  forceTokens?: readonly Int32Array[];
  /** called with each scale's raw step logits [rows, n, V] before the tokens are drawn (fidelity metrics) */
  onLogits?: (scale: number, logits: Float32Array, guidance: number, useUncond: boolean) => void;
  /** skip the image decoder (the result's image is empty): teacher-forced replays need only the logits */
  skipDecode?: boolean;
}

export interface GenerateResult {
  classIndex: number;
  seed: number;
  sampler: SamplerOptions;
  /** [3, S, S] in [0, 1] */
  image: Float32Array;
  imageSize: number;
  /** sampled token ids per scale */
  tokens: Int32Array[];
  scales: ScaleRecord[];
  peakCacheBytes: number;
  finalCacheBytes: number;
  ortMs: number;
  totalMs: number;
  policy: string;
  /** the ReCalKV variant that ran (low-rank cache), absent for the full-width model */
  lowRank?: string;
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

export type ReadFile = (name: string) => Promise<Uint8Array>;

/**
 * The generation graphs must be the ones config.json was exported with: weights_hash is the sha256 (16 hex
 * digits) of step, vq_update and vq_decode concatenated (train/export.py). A graph overwritten in part would
 * otherwise load and draw a different image without any error.
 */
export async function checkWeightsHash(cfg: ModelConfig, names: readonly string[], bytes: readonly Uint8Array[], configName = "config.json"): Promise<void> {
  if (cfg.weightsHash === "unknown") return;
  const all = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bytes) {
    all.set(b, o);
    o += b.length;
  }
  const got = (await sha256Hex(all)).slice(0, cfg.weightsHash.length);
  if (got !== cfg.weightsHash) {
    throw new Error(
      `${names.join(" + ")}: sha256 ${got} does not match ${configName}'s weights_hash ${cfg.weightsHash} — a graph was modified or comes from another export (re-run train/export.py)`,
    );
  }
}

export class VarModel {
  readonly shape: ModelShape;
  private readonly variants = new Map<string, Promise<VarModel>>();

  private constructor(
    readonly config: ModelConfig,
    readonly backend: Backend,
    private readonly step: Session,
    private readonly update: Session,
    private readonly decode: Session,
    private readonly readFile: ReadFile,
    /** the ReCalKV variant this model runs (low-rank latent cache), or undefined for the full-width graph */
    readonly variant?: LowRankVariant,
  ) {
    this.shape = modelShape(config);
    const L = config.numLayers;
    const H = config.numHeads;
    const file = variant ? variant.file : config.files.step;
    const G = variant?.numGroups ?? 0;
    const need = variant
      ? [
          "x_in",
          "labels",
          "pos_idx",
          "past_kz_L0_G0",
          `past_kz_L${L - 1}_G${G - 1}`,
          "kidx_L0_H0",
          `past_vz_L${L - 1}_H${H - 1}`,
          "past_k_L0_H0",
          `past_v_L${L - 1}_H${H - 1}`,
        ]
      : ["x_in", "labels", "pos_idx", "past_k_L0_H0", `past_v_L${L - 1}_H${H - 1}`];
    for (const n of need) {
      if (!step.inputNames.includes(n))
        throw new Error(
          `${file}: input "${n}" missing — graph does not match config (${L} layers × ${H} heads${variant ? `, ${G} groups` : ""})${variant && n.startsWith("past_") && !n.startsWith("past_kz") && !n.startsWith("past_vz") ? "; a ReCalKV graph without exact-entry inputs: re-run train/recalkv.py" : ""}`,
        );
    }
    const extra = variant ? [`past_vz_L${L}_H0`, `past_vz_L0_H${H}`, `past_kz_L0_G${G}`] : [`past_k_L${L}_H0`, `past_k_L0_H${H}`];
    if (extra.some((n) => step.inputNames.includes(n)))
      throw new Error(`${file}: graph has more layers/heads${variant ? "/groups" : ""} than config (${L} × ${H})`);
  }

  /**
   * Load config + graphs. `readFile` resolves file names relative to the model folder. With `variant`
   * (a ReCalKV variant id such as "r50", or its rank ratio) the step graph is that low-rank variant.
   */
  static async load(backend: Backend, readFile: ReadFile, configName = "config.json", opts: { variant?: string } = {}): Promise<VarModel> {
    let raw: unknown;
    const bytes = await readFile(configName);
    try {
      raw = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new Error(`${configName}: not valid JSON (${(e as Error).message})`);
    }
    const cfg = parseConfig(raw, configName);
    const names = [cfg.files.step, cfg.files.vq_update, cfg.files.vq_decode];
    const bytesOf: Uint8Array[] = [];
    for (const n of names) bytesOf.push(await readFile(n)); // in order, so the first missing file is the one named
    const [step, update, decode] = await Promise.all(names.map((n, i) => backend.load(bytesOf[i], n)));
    await checkWeightsHash(cfg, names, bytesOf, configName); // after loading: a file that is no graph at all is named by the loader
    const base = new VarModel(cfg, backend, step, update, decode, readFile);
    return opts.variant === undefined ? base : base.lowRank(opts.variant);
  }

  /** The ReCalKV variants shipped with this model (recalkv/recalkv.json next to config.json). */
  async lowRankManifest() {
    const bytes = await this.readFile(LOW_RANK_MANIFEST);
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new Error(`${LOW_RANK_MANIFEST}: not valid JSON (${(e as Error).message})`);
    }
    return parseLowRankManifest(raw, this.config);
  }

  /**
   * The same model with a ReCalKV variant's step graph (shares the update/decode sessions; loaded once
   * per id). Its generate() runs on a LatentCache, so the cache is physically low-rank.
   */
  lowRank(id: string): Promise<VarModel> {
    if (this.variant)
      return this.variant.id === id ? Promise.resolve(this) : Promise.reject(new Error(`lowRank(${id}): this model already runs variant ${this.variant.id}`));
    let p = this.variants.get(id);
    if (!p) {
      p = (async () => {
        const v = findVariant(await this.lowRankManifest(), id, LOW_RANK_MANIFEST);
        const bytes = await this.readFile(v.file);
        await checkVariantFile(v, bytes); // groups are not visible in the graph's inputs: a stale graph would run
        const step = await this.backend.load(bytes, v.file);
        return new VarModel(this.config, this.backend, step, this.update, this.decode, this.readFile, v);
      })();
      p.catch(() => this.variants.delete(id));
      this.variants.set(id, p);
    }
    return p;
  }

  /** Compare this backend's step graph with the PyTorch fixture (see selfcheck.ts). */
  selfCheck(fixture: Parameters<typeof stepSelfCheck>[2]): Promise<SelfCheck> {
    return stepSelfCheck(this.step, this.config, fixture);
  }

  /** A ReCalKV variant's step graph vs its PyTorch fixture (recalkv/fixture.json), e.g. before trusting WebGPU. */
  async lowRankSelfCheck(fixture: { variants: Record<string, LowRankStepFixture> }): Promise<SelfCheck> {
    if (!this.variant) throw new Error("lowRankSelfCheck: this model runs the full-width step graph (use selfCheck)");
    return lowRankSelfCheck(this.step, this.config, this.variant, fixture);
  }

  /** Run the step graph on raw feeds (tests: variant graph vs the PyTorch fixture). */
  runStep(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    return this.step.run(feeds);
  }

  /** A cache for this graph; `sigma` (low-rank variants): sink scales held exact (see LatentCache). */
  newCache(rows: number, sigma = 0): CacheStore {
    const v = this.variant;
    if (v)
      return new LatentCache(
        this.config.numLayers,
        this.config.numHeads,
        { keyWidth: v.keyLatentWidth, valueWidth: v.valueLatentWidth, groups: v.groups },
        rows,
        { sigma, headDim: this.config.headDim },
      );
    if (sigma !== 0) throw new Error(`sigma = ${sigma} (exact sink scales) needs a low-rank (ReCalKV) variant; the full-width cache is exact throughout`);
    return new KVCache(this.config.numLayers, this.config.numHeads, this.config.headDim, rows);
  }

  async generate(opts: GenerateOptions): Promise<GenerateResult> {
    const t0 = now();
    const cfg = this.config;
    const sampler = validateSampler({ ...DEFAULT_SAMPLER, ...definedOnly(opts) });
    const classIndex = resolveClass(cfg, opts.classIndex);
    if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > MAX_SEED)
      throw new Error(`seed must be an integer in [0, ${MAX_SEED}] (unsigned 32-bit), got ${opts.seed}`);
    const rng = new Rng(opts.seed);
    const useUncond = sampler.cfg > 0;
    const rows = useUncond ? 2 : 1;
    const { numScales: K, tokensPerScale, scaleBegin } = this.shape;
    const C = cfg.codebookDim;
    const Ls = cfg.latentSize;
    const L = cfg.numLayers;
    const H = cfg.numHeads;
    const sigma = opts.sigma ?? (this.variant ? (opts.policy?.sigma ?? 0) : 0);
    const cache = this.newCache(rows, sigma);
    const labels: Tensor = { data: BigInt64Array.from(useUncond ? [BigInt(classIndex), BigInt(cfg.nullClass)] : [BigInt(classIndex)]), dims: [rows] };
    let fHat: Tensor = { data: new Float32Array(C * Ls * Ls), dims: [1, C, Ls, Ls] };
    let xIn: Tensor = { data: new Float32Array(rows * C), dims: [rows, 1, C] };
    const tokens: Int32Array[] = [];
    const scales: ScaleRecord[] = [];
    let ortMs = 0;
    for (let t = 0; t < K; t++) {
      const ts = now();
      const n = tokensPerScale[t];
      const pos = new BigInt64Array(n);
      for (let i = 0; i < n; i++) pos[i] = BigInt(scaleBegin[t] + i);
      const fed = Array.from({ length: L * H }, (_, i) => cache.head(Math.floor(i / H), i % H));
      const rec: ScaleRecord = { scale: t, tokens: n, cacheEntries: cache.entries(), cacheBytes: cache.bytes(), ortMs: 0, totalMs: 0 };
      let to = now();
      const out = await this.step.run({ x_in: xIn, labels, pos_idx: { data: pos, dims: [n] }, ...cache.feeds() });
      rec.ortMs += now() - to;
      const guidance = guidanceAt(sampler.cfg, t, K);
      opts.onLogits?.(t, out.logits.data as Float32Array, guidance, useUncond);
      const forced = opts.forceTokens?.[t];
      if (opts.forceTokens && !(forced && forced.length === n))
        throw new Error(`forceTokens: scale ${t} needs ${n} token ids, got ${forced ? forced.length : "none"}`);
      const idx = forced ? Int32Array.from(forced) : sampleTokens(out.logits.data as Float32Array, n, cfg.vocabSize, guidance, useUncond, sampler, rng);
      tokens.push(idx);
      const obs: ScaleObservation = {
        scale: t,
        rows,
        tokens: n,
        attn: Array.from({ length: L * H }, (_, i) => out[`attn_L${Math.floor(i / H)}_H${i % H}`].data as Float32Array),
        fedScale: fed.map((f) => f.scale),
        fedToken: fed.map((f) => f.token),
        logits: out.logits.data as Float32Array,
      };
      if (t < K - 1) {
        cache.appendStep(out, t);
        opts.policy?.afterScale(t, cache, obs);
      }
      to = now();
      const up = await this.update.run({
        f_hat: fHat,
        idx: { data: BigInt64Array.from(idx, (v) => BigInt(v)), dims: [1, n] },
        scale: { data: BigInt64Array.from([BigInt(t)]), dims: [1] },
      });
      rec.ortMs += now() - to;
      fHat = up.f_hat_next;
      if (t < K - 1) {
        // next_x is [1, L*L, C] zero-padded: the first n_{t+1} rows are the next scale's input
        const nx = (up.next_x.data as Float32Array).subarray(0, tokensPerScale[t + 1] * C);
        const x = new Float32Array(rows * nx.length);
        for (let r = 0; r < rows; r++) x.set(nx, r * nx.length);
        xIn = { data: x, dims: [rows, tokensPerScale[t + 1], C] };
      }
      rec.totalMs = now() - ts;
      ortMs += rec.ortMs;
      scales.push(rec);
      opts.onScale?.(rec, obs, cache);
    }
    const to = now();
    const image = opts.skipDecode ? new Float32Array(0) : ((await this.decode.run({ f_hat: fHat })).image.data as Float32Array);
    ortMs += now() - to;
    return {
      classIndex,
      seed: opts.seed,
      sampler,
      image,
      imageSize: cfg.imageSize,
      tokens,
      scales,
      peakCacheBytes: Math.max(...scales.map((s) => s.cacheBytes)),
      finalCacheBytes: scales[scales.length - 1].cacheBytes,
      ortMs,
      totalMs: now() - t0,
      policy: opts.policy?.name ?? "full",
      ...(this.variant ? { lowRank: this.variant.id } : {}),
    };
  }
}

/** Time `images` full-cache generations (after one warm-up) over the classes, seeds 100+i: the bench loop. */
export async function timeGenerations(model: VarModel, images: number): Promise<{ total: number[]; ortMs: number[]; peak: number }> {
  await model.generate({ classIndex: 0, seed: 0 });
  const total: number[] = [];
  const ortMs: number[] = [];
  let peak = 0;
  for (let i = 0; i < images; i++) {
    const r = await model.generate({ classIndex: i % model.config.numClasses, seed: 100 + i });
    total.push(r.totalMs);
    ortMs.push(r.ortMs);
    peak = r.peakCacheBytes;
  }
  return { total, ortMs, peak };
}

function definedOnly(o: Partial<SamplerOptions>): Partial<SamplerOptions> {
  const r: Partial<SamplerOptions> = {};
  for (const k of ["cfg", "topK", "topP", "temperature"] as const) if (o[k] !== undefined) r[k] = o[k];
  if (o.sampler !== undefined) r.sampler = o.sampler;
  return r;
}

/** [3, S, S] float in [0,1] → RGBA bytes [S, S, 4] */
export function imageToRgba(image: Float32Array, size: number): Uint8ClampedArray {
  const px = size * size;
  const out = new Uint8ClampedArray(px * 4);
  for (let i = 0; i < px; i++) {
    out[i * 4] = Math.round(image[i] * 255);
    out[i * 4 + 1] = Math.round(image[px + i] * 255);
    out[i * 4 + 2] = Math.round(image[2 * px + i] * 255);
    out[i * 4 + 3] = 255;
  }
  return out;
}

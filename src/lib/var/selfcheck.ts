/**
 * Backend self-check: run the step graph on the committed PyTorch fixture (data/model/fixture.json) and
 * return the largest deviation. onnxruntime-web 1.30's WebGPU provider was measured computing the step
 * graph wrongly (|Δ logits| ≈ 12: a Concat of 8 heads needs more storage buffers than its device allows)
 * and refusing the ReCalKV graphs (MatMul over an empty cache); both are worked around (docs/webgpu.md),
 * and the browser runtime still verifies a GPU backend before use: another device or version may differ.
 */
import type { Session, Tensor } from "./backend.js";
import type { ModelConfig } from "../model/index.js";
import type { LowRankVariant } from "../model/index.js";

export const SELF_CHECK_TOLERANCE = 1e-3;

export interface StepFixture {
  past_lengths: number[];
  x_in: number[];
  labels: number[];
  pos_idx: number[];
  past: number[][];
  logits: number[];
  attn: number[][];
}

export interface SelfCheck {
  maxAbsLogits: number;
  maxAbsAttn: number;
  ok: boolean;
}

/** The step graph's inputs for the fixture step (uneven per-head cache lengths, some zero). */
export function fixtureStepFeeds(cfg: ModelConfig, s: StepFixture): Record<string, Tensor> {
  const { numLayers: L, numHeads: H, headDim: d, codebookDim: C } = cfg;
  const f32 = (a: number[]) => Float32Array.from(a);
  const i64 = (a: number[]) => BigInt64Array.from(a.map(BigInt));
  const feeds: Record<string, Tensor> = {
    x_in: { data: f32(s.x_in), dims: [2, s.pos_idx.length, C] },
    labels: { data: i64(s.labels), dims: [2] },
    pos_idx: { data: i64(s.pos_idx), dims: [s.pos_idx.length] },
  };
  for (let i = 0; i < L * H; i++) {
    const nm = `L${Math.floor(i / H)}_H${i % H}`;
    feeds[`past_k_${nm}`] = { data: f32(s.past[i]), dims: [2, s.past_lengths[i], d] };
    feeds[`past_v_${nm}`] = { data: f32(s.past[L * H + i]), dims: [2, s.past_lengths[i], d] };
  }
  return feeds;
}

export async function stepSelfCheck(step: Session, cfg: ModelConfig, fixture: { step: StepFixture }): Promise<SelfCheck> {
  const s = fixture.step;
  const out = await step.run(fixtureStepFeeds(cfg, s));
  return compareOutputs(out, cfg, s.logits, s.attn);
}

function compareOutputs(out: Record<string, Tensor>, cfg: ModelConfig, logits: number[], attn: number[][]): SelfCheck {
  const { numLayers: L, numHeads: H } = cfg;
  const maxAbs = (a: ArrayLike<number>, b: number[]) => {
    if (a.length !== b.length) return Number.POSITIVE_INFINITY;
    let m = 0;
    for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
  };
  const maxAbsLogits = maxAbs(out.logits.data as Float32Array, logits);
  let maxAbsAttn = 0;
  for (let i = 0; i < L * H; i++) maxAbsAttn = Math.max(maxAbsAttn, maxAbs(out[`attn_L${Math.floor(i / H)}_H${i % H}`].data as Float32Array, attn[i]));
  return { maxAbsLogits, maxAbsAttn, ok: maxAbsLogits < SELF_CHECK_TOLERANCE && maxAbsAttn < SELF_CHECK_TOLERANCE };
}

/** One ReCalKV variant's fixture step (data/model/recalkv/fixture.json → variants[id], train/recalkv.py). */
export interface LowRankStepFixture {
  x_in: number[];
  labels: number[];
  pos_idx: number[];
  /** per (layer, group) latent length P_g */
  group_lengths: number[];
  past_kz: number[][];
  /** per (layer, head): rows of its group latent */
  kidx: number[][];
  past_vz: number[][];
  /** case 0: no exact entries (P_e = 0: the all-latent graph's outputs); case 1: exact entries P_e > 0 */
  cases: LowRankFixtureCase[];
}

/** One fixture run of the same latent inputs with a set of exact (full-width) cached entries. */
export interface LowRankFixtureCase {
  /** per (layer, head): P_e */
  exact_lengths: number[];
  /** per (layer, head): [2, P_e, d] */
  past_k: number[][];
  past_v: number[][];
  logits: number[];
  /** per (layer, head): [2, P_e + P_h + n] */
  attn: number[][];
}

/** The variant step graph's inputs for its fixture step (uneven per-group / per-head lengths, gathered subsets). */
export function lowRankFixtureFeeds(
  cfg: ModelConfig,
  v: Pick<LowRankVariant, "numGroups" | "keyLatentWidth" | "valueLatentWidth">,
  s: LowRankStepFixture,
  caseIndex = 0,
): Record<string, Tensor> {
  const { numLayers: L, numHeads: H, codebookDim: C, headDim: d } = cfg;
  const c = s.cases[caseIndex];
  if (!c) throw new Error(`recalkv/fixture.json: no case ${caseIndex} (re-run train/recalkv.py: fixtures carry exact-entry cases)`);
  const G = v.numGroups;
  const f32 = (a: number[]) => Float32Array.from(a);
  const n = s.pos_idx.length;
  const feeds: Record<string, Tensor> = {
    x_in: { data: f32(s.x_in), dims: [2, n, C] },
    labels: { data: BigInt64Array.from(s.labels.map(BigInt)), dims: [2] },
    pos_idx: { data: BigInt64Array.from(s.pos_idx.map(BigInt)), dims: [n] },
  };
  for (let i = 0; i < L * G; i++)
    feeds[`past_kz_L${Math.floor(i / G)}_G${i % G}`] = { data: f32(s.past_kz[i]), dims: [2, s.group_lengths[i], v.keyLatentWidth] };
  for (let i = 0; i < L * H; i++) {
    const nm = `L${Math.floor(i / H)}_H${i % H}`;
    feeds[`kidx_${nm}`] = { data: BigInt64Array.from(s.kidx[i].map(BigInt)), dims: [s.kidx[i].length] };
    feeds[`past_vz_${nm}`] = { data: f32(s.past_vz[i]), dims: [2, s.kidx[i].length, v.valueLatentWidth] };
    feeds[`past_k_${nm}`] = { data: f32(c.past_k[i]), dims: [2, c.exact_lengths[i], d] };
    feeds[`past_v_${nm}`] = { data: f32(c.past_v[i]), dims: [2, c.exact_lengths[i], d] };
  }
  return feeds;
}

/** Run a ReCalKV variant's step graph on its PyTorch fixture; largest deviations (as stepSelfCheck). */
export async function lowRankSelfCheck(
  step: Session,
  cfg: ModelConfig,
  v: LowRankVariant,
  fixture: { variants: Record<string, LowRankStepFixture> },
): Promise<SelfCheck> {
  const s = fixture.variants?.[v.id];
  if (!s) throw new Error(`recalkv/fixture.json: no fixture for variant ${v.id}`);
  if (!Array.isArray(s.cases) || s.cases.length === 0) throw new Error(`recalkv/fixture.json: variant ${v.id} has no cases (re-run train/recalkv.py)`);
  // every case (without and with exact entries); the worst deviation counts
  let worst: SelfCheck | undefined;
  for (let i = 0; i < s.cases.length; i++) {
    const out = await step.run(lowRankFixtureFeeds(cfg, v, s, i));
    const r = compareOutputs(out, cfg, s.cases[i].logits, s.cases[i].attn);
    worst = worst
      ? { maxAbsLogits: Math.max(worst.maxAbsLogits, r.maxAbsLogits), maxAbsAttn: Math.max(worst.maxAbsAttn, r.maxAbsAttn), ok: worst.ok && r.ok }
      : r;
  }
  return worst as SelfCheck;
}

/**
 * Backend self-check: run the step graph on the committed PyTorch fixture (data/model/fixture.json) and
 * return the largest deviation. onnxruntime-web 1.30's WebGPU provider (SwiftShader, headless chromium)
 * was measured computing this graph wrongly (|Δ logits| ≈ 9 from layer 0's first head on), while wasm and
 * onnxruntime-node agree with PyTorch to ~1e-6 — so the browser runtime verifies a GPU backend before use.
 */
import type { Session, Tensor } from "./backend.js";
import type { ModelConfig } from "./config.js";

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
  const { numLayers: L, numHeads: H } = cfg;
  const s = fixture.step;
  const out = await step.run(fixtureStepFeeds(cfg, s));
  const maxAbs = (a: ArrayLike<number>, b: number[]) => {
    if (a.length !== b.length) return Number.POSITIVE_INFINITY;
    let m = 0;
    for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
  };
  const maxAbsLogits = maxAbs(out.logits.data as Float32Array, s.logits);
  let maxAbsAttn = 0;
  for (let i = 0; i < L * H; i++) maxAbsAttn = Math.max(maxAbsAttn, maxAbs(out[`attn_L${Math.floor(i / H)}_H${i % H}`].data as Float32Array, s.attn[i]));
  return { maxAbsLogits, maxAbsAttn, ok: maxAbsLogits < SELF_CHECK_TOLERANCE && maxAbsAttn < SELF_CHECK_TOLERANCE };
}

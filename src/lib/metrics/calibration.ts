/**
 * One calibration prompt: full-cache generation that records, per CFG row, layer, head, target scale t and
 * source scale s ≤ t, the mean attention mass of t's queries on s's keys (see attention.ts), plus the
 * per-token mass of the cond row (what token-level methods need). Browser-safe: the Node job and the
 * in-browser (wasm / webgpu) calibration run exactly this.
 */
import type { VarModel } from "../var/runtime.js";
import { scaleMass, tokenMass } from "./attention.js";

import { STATS_SCHEMA_VERSION } from "../schema/stats.js";

export { STATS_SCHEMA_VERSION };

export interface CalibrationSettings {
  cfg: number;
  topK: number;
  topP: number;
  temperature: number;
}

export interface Prompt {
  classIndex: number;
  seed: number;
}

/** Columnar result of one prompt. Branch 0 = cond, 1 = uncond. */
export interface PromptStats {
  classIndex: number;
  seed: number;
  backend: string;
  ms: number;
  scale: { branch: number[]; layer: number[]; head: number[]; target: number[]; source: number[]; mass: number[] };
  token: { layer: number[]; head: number[]; target: number[]; source: number[]; token: number[]; mass: number[] };
}

export async function calibratePrompt(model: VarModel, prompt: Prompt, settings: CalibrationSettings): Promise<PromptStats> {
  const H = model.config.numHeads;
  const st: PromptStats = {
    classIndex: prompt.classIndex,
    seed: prompt.seed,
    backend: model.backend.name,
    ms: 0,
    scale: { branch: [], layer: [], head: [], target: [], source: [], mass: [] },
    token: { layer: [], head: [], target: [], source: [], token: [], mass: [] },
  };
  const r = await model.generate({
    classIndex: prompt.classIndex,
    seed: prompt.seed,
    ...settings,
    onScale: (_rec, obs) => {
      const t = obs.scale;
      const m = scaleMass(obs);
      m.forEach((perHead, branch) =>
        perHead.forEach((sm, i) => {
          for (let s = 0; s <= t; s++) {
            st.scale.branch.push(branch);
            st.scale.layer.push(Math.floor(i / H));
            st.scale.head.push(i % H);
            st.scale.target.push(t);
            st.scale.source.push(s);
            st.scale.mass.push(sm[s]);
          }
        }),
      );
      tokenMass(obs, 0).forEach((tm, i) => {
        for (let k = 0; k < tm.length; k++) {
          st.token.layer.push(Math.floor(i / H));
          st.token.head.push(i % H);
          st.token.target.push(t);
          st.token.source.push(obs.fedScale[i][k]);
          st.token.token.push(obs.fedToken[i][k]);
          st.token.mass.push(tm[k]);
        }
      });
    },
  });
  st.ms = r.totalMs;
  return st;
}

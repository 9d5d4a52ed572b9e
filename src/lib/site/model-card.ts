// Model card for the demo VAR from its config.json (validated by src/lib/model/config.ts, the one config parser).
import { fullCacheBytes, modelShape, type ModelConfig } from "../model/index.js";
import { formatBytes } from "./format.js";

export function modelCardEntries(c: ModelConfig): [string, string][] {
  const shape = modelShape(c);
  return [
    ["model", `${c.modelId} (config ${c.configHash})`],
    ["image", `${c.imageSize}×${c.imageSize} RGB, decoded from a ${c.latentSize}×${c.latentSize}×${c.codebookDim} latent`],
    ["scales (h×w)", c.patchNums.map((p) => `${p}×${p}`).join(", ")],
    ["tokens per scale n_s", `${shape.tokensPerScale.join(" + ")} = ${shape.totalTokens}`],
    ["transformer", `${c.numLayers} layers × ${c.numHeads} heads × head dim ${c.headDim} (width ${shape.width})`],
    ["codebook", `${c.vocabSize} codes of dimension ${c.codebookDim}`],
    ["classes", `${c.numClasses}: ${c.classes.join(", ")}`],
    ["peak cache C_max", `${shape.maxCacheTokens} tokens per (layer, head); the last scale is never cached`],
    ["full KV cache", `${formatBytes(fullCacheBytes(c))} per image (fp32, K+V, both CFG halves)`],
  ];
}

export function modelCard(c: ModelConfig): HTMLDListElement {
  const dl = document.createElement("dl");
  dl.className = "heatkv-card";
  dl.dataset.testid = "model-card";
  dl.dataset.modelId = c.modelId;
  for (const [k, v] of modelCardEntries(c)) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
  return dl;
}

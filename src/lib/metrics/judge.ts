/**
 * The emoji classifier shipped with the demo model (data/model/classifier.onnx), used as the quality and
 * prompt-alignment judge: class predictions (a proxy for prompt alignment) and penultimate features
 * (for the feature distance, an LPIPS-like proxy, and FD-emoji, an FID-like proxy). Not LPIPS, not FID.
 */
import type { Backend, Session } from "../var/backend.js";
import type { ModelConfig } from "../model/index.js";

export interface Judgement {
  predicted: number[];
  /** softmax probability of the predicted class */
  confidence: number[];
  features: Float32Array[];
  logits: Float32Array[];
}

export class Judge {
  private constructor(
    private readonly session: Session,
    readonly numClasses: number,
    readonly featureDim: number,
    readonly imageSize: number,
  ) {}

  static async load(backend: Backend, cfg: ModelConfig, readFile: (name: string) => Promise<Uint8Array>): Promise<Judge> {
    const s = await backend.load(await readFile(cfg.files.classifier), cfg.files.classifier);
    for (const n of ["logits", "features"]) if (!s.outputNames.includes(n)) throw new Error(`${cfg.files.classifier}: output "${n}" missing`);
    return new Judge(s, cfg.numClasses, cfg.classifierFeatureDim, cfg.imageSize);
  }

  /** Images [3, S, S] in [0, 1], judged in batches of `batch`. */
  async judge(images: Float32Array[], batch = 32): Promise<Judgement> {
    const px = 3 * this.imageSize * this.imageSize;
    const out: Judgement = { predicted: [], confidence: [], features: [], logits: [] };
    for (let i = 0; i < images.length; i += batch) {
      const chunk = images.slice(i, i + batch);
      const data = new Float32Array(chunk.length * px);
      chunk.forEach((im, j) => {
        if (im.length !== px) throw new Error(`Judge: image ${i + j} has ${im.length} values, expected ${px}`);
        data.set(im, j * px);
      });
      const r = await this.session.run({ image: { data, dims: [chunk.length, 3, this.imageSize, this.imageSize] } });
      const logits = r.logits.data as Float32Array;
      const feats = r.features.data as Float32Array;
      for (let j = 0; j < chunk.length; j++) {
        const row = logits.subarray(j * this.numClasses, (j + 1) * this.numClasses);
        let best = 0;
        for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
        let z = 0;
        for (const v of row) z += Math.exp(v - row[best]);
        out.predicted.push(best);
        out.confidence.push(1 / z);
        out.features.push(feats.slice(j * this.featureDim, (j + 1) * this.featureDim));
        out.logits.push(row.slice());
      }
    }
    return out;
  }
}

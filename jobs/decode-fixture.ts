// A reference decode for the site's ORT-web check: the f_hat and the PyTorch image of
// data/model/fixture.json ("update": vq_decode(f_hat_next) = image), with the shapes from config.json.
import { READ_LIMITS, readJsonFile } from "../node/read-file.js";
import { join } from "node:path";
import type { ModelConfig } from "../src/lib/model/index.js";
import type { DecodeFixture } from "../src/lib/schema/decode-fixture.js";
import { MODEL_DIR } from "../node/paths.js";

export type { DecodeFixture };

export function decodeFixture(config: ModelConfig, dir = MODEL_DIR): DecodeFixture {
  const fixture = readJsonFile(join(dir, "fixture.json"), { maxBytes: READ_LIMITS.fixture, what: "model fixture" }) as {
    config_hash?: string;
    update: { f_hat_next: number[]; image: number[] };
  };
  const f_hat_shape = [1, config.codebookDim, config.latentSize, config.latentSize];
  const image_shape = [1, 3, config.imageSize, config.imageSize];
  const { f_hat_next: f_hat, image } = fixture.update;
  if (f_hat.length !== f_hat_shape.reduce((a, b) => a * b)) throw new Error(`fixture f_hat has ${f_hat.length} values, expected ${f_hat_shape}`);
  if (image.length !== image_shape.reduce((a, b) => a * b)) throw new Error(`fixture image has ${image.length} values, expected ${image_shape}`);
  return { config_hash: fixture.config_hash ?? null, f_hat_shape, image_shape, f_hat, image };
}

// Paths shared by the Node modules, the jobs and the site's data loaders (src/data/*.ts).
// Resolved from this file, not the cwd.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Directory holding the exported demo model (config.json, *.onnx, fixture.json, samples.png). */
export const MODEL_DIR = process.env.HEATKV_MODEL_DIR ?? join(REPO_ROOT, "data", "model");

// Small file helpers shared by the jobs, the site's data loaders (src/data) and the CLI.
import { createReadStream, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";

/** Copy a file to stdout, for data loaders that publish a model file into the site (e.g. vq_decode.onnx). */
export async function streamFileToStdout(path: string): Promise<void> {
  await pipeline(createReadStream(path), process.stdout, { end: false });
}

/** Write to a temp file next to `path`, then rename: readers never see a half-written file. */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

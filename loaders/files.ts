// Copy a file to stdout, for loaders that publish a model file into the site (e.g. vq_decode.onnx).
import {createReadStream} from "node:fs";
import {pipeline} from "node:stream/promises";

export async function streamFileToStdout(path: string): Promise<void> {
  await pipeline(createReadStream(path), process.stdout, {end: false});
}

// Locations used by the e2e tests.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DIST = resolve(ROOT, process.env.HEATKV_DIST ?? "dist");
export const SCREENSHOTS = join(ROOT, "tests", "e2e", "screenshots");
export const BUILD_REPORT = join(DIST, "_heatkv", "build.json");

/** A built data file: Framework content-hashes names (data/cache_shape.parquet → _file/data/cache_shape.<hash>.parquet). */
export function builtFile(path: string): string {
  const dir = join(DIST, "_file", dirname(path));
  const base = path.split("/").pop()!;
  const dot = base.lastIndexOf(".");
  const [stem, ext] = [base.slice(0, dot), base.slice(dot)];
  const hits = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(`${stem}.`) && f.endsWith(ext) && f.split(".").length === 3) : [];
  if (hits.length !== 1) throw new Error(`expected one built file for ${path} in ${dir}, found ${JSON.stringify(hits)}`);
  return join(dir, hits[0]);
}

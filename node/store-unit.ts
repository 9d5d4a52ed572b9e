// Outputs written as several files (calibration: <name>.parquet + <name>_tokens.parquet; sweep:
// <name>.parquet + <name>_cells.parquet) are one unit: a manifest `<name>.manifest.json`, written last,
// names every file with its size and sha256. The commit order is: every file complete in its temp file →
// the old manifest removed → the renames → the new manifest. A kill at any point leaves either the old unit
// (manifest matches) or files without a (matching) manifest, which readers refuse with one line saying how
// to redo it. A store with no companion file and no manifest (torch-hook or synthetic statistics) is a
// single-file store and is accepted as is. (docs/stats-schema.md §3, docs/reliability.md)
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { tempPathFor, writeAtomic, writeError } from "./files.js";
import { READ_LIMITS, readJsonFile } from "./read-file.js";

export const UNIT_VERSION = "heatkv-unit/1";

export interface UnitManifest {
  version: typeof UNIT_VERSION;
  written_at: string;
  /** basenames (the files sit next to the manifest), bytes and sha256 hex */
  files: { name: string; bytes: number; sha256: string }[];
}

/** `<name>.manifest.json` next to `<name>.parquet`. */
export const manifestPathFor = (main: string) => main.replace(/\.parquet$/, "") + ".manifest.json";

/** sha256 (hex) and size of a file, read in chunks. */
export function fileDigest(path: string): { bytes: number; sha256: string } {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  let bytes = 0;
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; bytes += n) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return { bytes, sha256: h.digest("hex") };
}

/**
 * Commit files already complete in their temp files (`tmp`) as one unit whose manifest sits next to
 * `main`. On failure every temp file not yet renamed is removed and the error names the path.
 */
export function commitUnit(main: string, files: readonly { path: string; tmp: string }[]): void {
  const manifest = manifestPathFor(main);
  const pending = new Set(files.map((f) => f.tmp));
  try {
    const entries = files.map((f) => ({ name: basename(f.path), ...fileDigest(f.tmp) }));
    for (const f of files) if (dirname(f.path) !== dirname(main)) throw new Error(`${f.path}: every file of a unit must sit next to ${main}`);
    rmSync(manifest, { force: true }); // from here until the new manifest, readers see "no manifest" and refuse
    for (const f of files) {
      try {
        renameSync(f.tmp, f.path);
      } catch (e) {
        throw writeError(f.path, e);
      }
      pending.delete(f.tmp);
    }
    const m: UnitManifest = { version: UNIT_VERSION, written_at: new Date().toISOString(), files: entries };
    writeAtomic(manifest, JSON.stringify(m, null, 2) + "\n");
  } finally {
    for (const t of pending) rmSync(t, { force: true });
  }
}

/** Write `files` (contents in memory) as one unit with its manifest next to `main`. */
export function writeUnit(main: string, files: readonly { path: string; data: string | Uint8Array }[]): void {
  const staged: { path: string; tmp: string }[] = [];
  try {
    for (const f of files) {
      const tmp = tempPathFor(f.path);
      staged.push({ path: f.path, tmp });
      try {
        writeFileSync(tmp, f.data);
      } catch (e) {
        throw writeError(f.path, e);
      }
    }
  } catch (e) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw e;
  }
  commitUnit(main, staged);
}

/**
 * Refuse a unit that is not whole: a manifest that does not match its files, or companion files without a
 * manifest. `companions` are the files that belong with `main`; `redo` says how to rewrite the unit.
 */
export function checkUnit(main: string, companions: readonly string[], redo: string): void {
  const manifest = manifestPathFor(main);
  if (!existsSync(manifest)) {
    const present = companions.filter((c) => existsSync(c));
    if (present.length && existsSync(main))
      throw new Error(
        `${main}: ${present.join(", ")} sits beside it but the manifest ${manifest} is missing: an interrupted write (or a store from before manifests), so the files may not belong together; ${redo}`,
      );
    return; // a single-file store (torch hook, synthetic)
  }
  const m = readJsonFile(manifest, { maxBytes: READ_LIMITS.manifest, what: "store manifest" }) as Partial<UnitManifest>;
  if (m.version !== UNIT_VERSION || !Array.isArray(m.files))
    throw new Error(`${manifest}: field "version" is ${JSON.stringify(m.version)}, expected "${UNIT_VERSION}" with a files list; ${redo}`);
  const names = new Set(m.files.map((f) => f.name));
  for (const p of [main, ...companions]) if (!names.has(basename(p)) && existsSync(p)) throw new Error(`${manifest}: does not list ${p}; ${redo}`);
  for (const f of m.files) {
    const p = join(dirname(manifest), f.name);
    if (!existsSync(p)) throw new Error(`${p}: missing, but listed in ${manifest}; ${redo}`);
    const size = statSync(p).size;
    if (size !== f.bytes) throw new Error(`${p}: is ${size} bytes, ${manifest} says ${f.bytes}: not the file written with the rest of the unit; ${redo}`);
    if (fileDigest(p).sha256 !== f.sha256)
      throw new Error(`${p}: its sha256 differs from ${manifest}: not the file written with the rest of the unit; ${redo}`);
  }
}

// Small file helpers shared by the jobs, the site's data loaders (src/data) and the CLI: atomic writes that
// never leave their temp file behind, write errors that name the path, stale temp-file cleanup and a
// writability probe run before any work (docs/reliability.md).
import { closeSync, createReadStream, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";

/** Copy a file to stdout, for data loaders that publish a model file into the site (e.g. vq_decode.onnx). */
export async function streamFileToStdout(path: string): Promise<void> {
  await pipeline(createReadStream(path), process.stdout, { end: false });
}

const FS_REASONS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "its folder does not exist",
  ENOTDIR: "a parent is not a folder",
  EISDIR: "is a directory",
  EEXIST: "already exists",
  EIO: "input/output error",
};

/** "<path>: cannot write (no space left on device)" for a failed write, the code kept on the error. */
export function writeError(path: string, e: unknown, verb = "cannot write"): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  const reason = (code && FS_REASONS[code]) ?? (code || (e as Error)?.message?.split("\n")[0] || String(e));
  return Object.assign(new Error(`${path}: ${verb} (${reason})`), { code });
}

/** The temp file writeAtomic uses for `path` (same folder, so the rename is atomic; pid names the writer). */
export const tempPathFor = (path: string) => `${path}.${process.pid}.tmp`;

/** Refuse an empty output path (`--out ""` would otherwise write `.<pid>.tmp` in the current folder). */
export function requireOutputPath(path: string | undefined, option: string): string {
  if (typeof path !== "string" || path.trim() === "") throw new Error(`${option}: the output path is empty`);
  return path;
}

/**
 * Write to a temp file next to `path`, then rename: readers never see a half-written file, and a failed
 * write (full disk, read-only folder) removes its temp file and names `path` in its error.
 */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  requireOutputPath(path, "output");
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw writeError(dirname(path), e, "cannot create folder");
  }
  const tmp = tempPathFor(path);
  let renamed = false;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
    renamed = true;
  } catch (e) {
    throw writeError(path, e);
  } finally {
    if (!renamed) rmSync(tmp, { force: true });
  }
}

/** True when a process with this pid exists (signal 0 only checks; EPERM means it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Remove temp files `<name>.<pid>.tmp` left next to each of `paths` by writers that died (pid gone, or this
 * process's own pid from an earlier failure). Call after taking the output's lock. Returns the removed files.
 */
export function cleanStaleTemps(paths: readonly string[]): string[] {
  const removed: string[] = [];
  for (const path of paths) {
    const dir = dirname(path);
    const name = basename(path);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue; // no folder yet: nothing to clean
    }
    for (const f of entries) {
      if (!f.startsWith(`${name}.`) || !f.endsWith(".tmp")) continue;
      const pid = f.slice(name.length + 1, -".tmp".length);
      if (!/^\d+$/.test(pid)) continue;
      if (Number(pid) !== process.pid && pidAlive(Number(pid))) continue; // another live writer's (it holds no lock on this output, but it is not stale)
      rmSync(join(dir, f), { force: true });
      removed.push(join(dir, f));
    }
  }
  return removed;
}

/**
 * Make sure `path`'s folder exists and accepts a new file, before any work: creates the folder and
 * writes/removes a probe file. Throws "<folder>: cannot write (read-only file system)" etc.
 */
export function ensureWritable(path: string): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw writeError(dir, e, "cannot create folder");
  }
  const probe = join(dir, `.${basename(path)}.${process.pid}.probe.tmp`);
  try {
    closeSync(openSync(probe, "wx"));
  } catch (e) {
    throw writeError(dir, e);
  } finally {
    rmSync(probe, { force: true });
  }
}

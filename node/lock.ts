// An exclusive lock on an output (`<output>.lock`), so two processes never write the same store at once
// (calibrate's shards + merged files, a sweep's shards + Parquet outputs, a tuned schedule). The lock file
// is created with O_EXCL and holds the owner's pid, its start time (/proc start ticks on Linux, so a reused
// pid is not mistaken for the owner) and the host. A lock whose owner is gone is taken over; a live owner
// makes the second process fail at once, naming the lock and the pid. (docs/reliability.md)
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { cleanStaleTemps, ensureWritable, pidAlive, writeError } from "./files.js";
import { guardOutputs } from "./paths-guard.js";

export interface LockInfo {
  pid: number;
  /** process start time in clock ticks since boot (/proc/<pid>/stat field 22), null where unknown */
  startTicks: number | null;
  startedAt: string;
  host: string;
  purpose: string;
}

export interface Lock {
  path: string;
  release(): void;
}

export const lockPathFor = (output: string) => `${output}.lock`;

/** Start time of a process in clock ticks since boot, from /proc (null off Linux or when it is gone). */
export function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const v = Number(fields[19]); // field 22 overall; fields after "(comm)" start at field 3
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

function readLock(path: string): LockInfo | null {
  try {
    const raw = JSON.parse(readFileSync(path, "utf8")) as Partial<LockInfo>;
    if (typeof raw.pid !== "number") return null;
    return {
      pid: raw.pid,
      startTicks: typeof raw.startTicks === "number" ? raw.startTicks : null,
      startedAt: String(raw.startedAt ?? "?"),
      host: String(raw.host ?? "?"),
      purpose: String(raw.purpose ?? "?"),
    };
  } catch {
    return null;
  }
}

/** A lock file without readable content may be one another process has just created and not yet filled. */
function youngerThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < ms;
  } catch {
    return false;
  }
}

/** Is the lock's owner still running (same host, pid alive, and the same process: start time matches)? */
export function lockHeld(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // cannot check another machine's pids: assume held
  if (!pidAlive(info.pid)) return false;
  const now = processStartTicks(info.pid);
  return info.startTicks === null || now === null || now === info.startTicks;
}

/** Take `<output>.lock` (or fail at once); release() in a finally. `purpose` says what writes, e.g. "heatkv calibrate". */
export function acquireLock(output: string, purpose: string): Lock {
  const path = lockPathFor(output);
  const info: LockInfo = { pid: process.pid, startTicks: processStartTicks(process.pid), startedAt: new Date().toISOString(), host: hostname(), purpose };
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw writeError(dirname(path), e, "cannot create folder");
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") throw writeError(path, e, "cannot create lock");
      const owner = readLock(path);
      if (!owner && youngerThan(path, 5000)) throw new Error(`${path}: another process is taking this lock right now (writing ${output}); try again`);
      if (owner && lockHeld(owner))
        throw new Error(
          `${path}: locked by pid ${owner.pid} (${owner.purpose}, started ${owner.startedAt} on ${owner.host}): another process is writing ${output}; wait for it to finish (or remove the lock if that process is gone)`,
        );
      // stale (owner gone, or a lock file cut short by a crash): take it over
      rmSync(path, { force: true });
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(info));
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        const cur = readLock(path);
        if (cur && cur.pid === process.pid) rmSync(path, { force: true });
      },
    };
  }
  throw new Error(`${path}: could not take the lock (another process keeps re-creating it)`);
}

/** Run `fn` holding the lock of `output`. */
export async function withLock<T>(output: string, purpose: string, fn: () => Promise<T>): Promise<T> {
  const lock = acquireLock(output, purpose);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/**
 * The preamble every store-writing job runs before any work, then the job itself: the outputs are guarded
 * against the inputs and model files (guardOutputs), `out`'s folder is writable, `<out>.lock` is held for the
 * whole run (released whatever happens) and the temp files of dead writers of `staleTemps` are removed.
 */
export async function runWithOutputLock<T>(
  o: { guard: Parameters<typeof guardOutputs>[0]; out: string; purpose: string; staleTemps?: readonly string[] },
  run: () => Promise<T>,
): Promise<T> {
  guardOutputs(o.guard);
  ensureWritable(o.out);
  const lock = acquireLock(o.out, o.purpose);
  try {
    if (o.staleTemps) cleanStaleTemps(o.staleTemps);
    return await run();
  } finally {
    lock.release();
  }
}

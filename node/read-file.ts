// Bounded reads of the files the CLI, the jobs and the model loader take as input (schedules, orders,
// config.json, manifests, fixtures, ONNX graphs): the file is opened without blocking, must be a regular
// file (not a directory, device, FIFO or socket) no larger than a stated limit, and is read up to that
// limit only — `--schedule /dev/zero` or a config.json symlinked to a FIFO is one clear error, not an
// unbounded read or a hang. Text has its UTF-8 byte-order mark stripped. (docs/reliability.md)
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

const MiB = 1024 * 1024;

/** Limits per kind of input (bytes). */
export const READ_LIMITS = {
  /** a model's config.json */
  config: 1 * MiB,
  /** schedules, reference orders, sweep cell shards, tuned schedules */
  schedule: 64 * MiB,
  /** recalkv.json and other small JSON manifests */
  manifest: 16 * MiB,
  /** PyTorch fixtures (fixture.json, recalkv/fixture.json) */
  fixture: 256 * MiB,
  /** ONNX graphs and other binary model files */
  binary: 2048 * MiB,
} as const;

export interface ReadOptions {
  /** largest accepted size in bytes */
  maxBytes: number;
  /** what the file is, for the error ("schedule", "model config") */
  what: string;
}

const fmtBytes = (n: number) => (n >= MiB ? `${+(n / MiB).toFixed(1)} MiB` : n >= 1024 ? `${+(n / 1024).toFixed(1)} KiB` : `${n} bytes`);

function kindOf(st: import("node:fs").Stats): string {
  if (st.isDirectory()) return "is a directory";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "is a device, not a regular file";
  if (st.isFIFO()) return "is a FIFO (named pipe), not a regular file";
  if (st.isSocket()) return "is a socket, not a regular file";
  return "is not a regular file";
}

/** Read a whole regular file of at most `maxBytes` (symlinks followed), naming the path on every failure. */
export function readFileBounded(path: string, o: ReadOptions): Buffer {
  if (typeof path !== "string" || path === "") throw new Error(`${o.what}: the path is empty`);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below)
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new Error(`${path}: not found (${o.what})`);
    if (code === "EISDIR") throw new Error(`${path}: is a directory, expected a ${o.what} file`);
    throw new Error(`${path}: cannot read ${o.what} (${code ?? (e as Error).message})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${path}: ${kindOf(st)}, expected a ${o.what} file`);
    if (st.size > o.maxBytes) throw new Error(`${path}: is ${st.size} bytes, over the ${fmtBytes(o.maxBytes)} limit for a ${o.what}`);
    // read at most maxBytes + 1: a file that grows (or a /proc file that reports size 0) is still bounded
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size - total, 64 * 1024), o.maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw new Error(`${path}: cannot read ${o.what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      if (n === 0) break;
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
      total += n;
      if (total > o.maxBytes) throw new Error(`${path}: is over the ${fmtBytes(o.maxBytes)} limit for a ${o.what}`);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** A bounded UTF-8 text file, its byte-order mark stripped. */
export function readTextFile(path: string, o: ReadOptions): string {
  const text = readFileBounded(path, o).toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A bounded JSON file: "<path>: not valid JSON (…)" on a syntax error. */
export function readJsonFile(path: string, o: ReadOptions): unknown {
  const text = readTextFile(path, o);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** The limit for a file of a model folder, by name: config.json 1 MiB, other JSON per kind, graphs 2 GiB. */
export function modelFileLimit(name: string): ReadOptions {
  const base = name.split(/[\\/]/).pop() ?? name;
  if (base === "config.json") return { maxBytes: READ_LIMITS.config, what: "model config" };
  if (base === "fixture.json") return { maxBytes: READ_LIMITS.fixture, what: "model fixture" };
  if (base.endsWith(".json")) return { maxBytes: READ_LIMITS.manifest, what: "model manifest" };
  return { maxBytes: READ_LIMITS.binary, what: "model file" };
}

// node/files.ts: writeAtomic never leaves its temp file behind and names the path in a write error (full
// disk, read-only folder), empty output paths are refused, stale temp files of dead writers are cleaned,
// and ensureWritable fails before any work on a folder that cannot be written.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { cleanStaleTemps, ensureWritable, requireOutputPath, tempPathFor, writeAtomic, writeError } from "../../node/files.js";
import { writePng } from "../../node/png.js";

// writeFileSync of node:fs, wrapped: a test can make a write fail half-way, as a full disk does
const disk = vi.hoisted(() => ({ full: false }));
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  return {
    ...real,
    writeFileSync: (path: string, data: string | Uint8Array, ...rest: unknown[]) => {
      if (disk.full) {
        real.writeFileSync(path, typeof data === "string" ? data.slice(0, 3) : data.subarray(0, 3)); // a partial write
        throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: "ENOSPC" });
      }
      return (real.writeFileSync as (...a: unknown[]) => void)(path, data, ...rest);
    },
  };
});

const fresh = () => mkdtempSync(join(tmpdir(), "heatkv-files-"));

describe("writeAtomic", () => {
  it("on a full disk: the error names the path and the reason, no temp file is left, the old file is kept", () => {
    const dir = fresh();
    const out = join(dir, "s.json");
    writeFileSync(out, "old");
    disk.full = true;
    try {
      expect(() => writeAtomic(out, "new content")).toThrow(`${out}: cannot write (no space left on device)`);
    } finally {
      disk.full = false;
    }
    expect(readdirSync(dir)).toEqual(["s.json"]);
    expect(readFileSync(out, "utf8")).toBe("old");
  });

  it("generate's PNG writer goes through it (a full disk leaves no grid.png.<pid>.tmp)", () => {
    const dir = fresh();
    disk.full = true;
    try {
      expect(() => writePng(join(dir, "grid.png"), { width: 1, height: 1, data: new Uint8Array(4) })).toThrow(
        /grid\.png: cannot write \(no space left on device\)/,
      );
    } finally {
      disk.full = false;
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses an empty output path instead of writing .<pid>.tmp in the current folder", () => {
    expect(() => writeAtomic("", "x")).toThrow(/output: the output path is empty/);
    expect(() => requireOutputPath("  ", "--out")).toThrow("--out: the output path is empty");
    expect(existsSync(`.${process.pid}.tmp`)).toBe(false);
  });

  it("wraps read-only and permission errors with the path", () => {
    expect(writeError("/x/y", Object.assign(new Error("EROFS"), { code: "EROFS" })).message).toBe("/x/y: cannot write (read-only file system)");
    expect(writeError("/x/y", Object.assign(new Error("EACCES"), { code: "EACCES" })).message).toBe("/x/y: cannot write (permission denied)");
  });
});

describe("stale temp files and writability", () => {
  it("cleanStaleTemps removes <name>.<pid>.tmp of dead writers (and this process's), keeps a live writer's and other files", () => {
    const dir = fresh();
    const out = join(dir, "attention.parquet");
    const dead = join(dir, "attention.parquet.2147483646.tmp"); // no such pid
    const live = join(dir, `attention.parquet.${process.ppid}.tmp`); // the parent is alive
    const own = tempPathFor(out);
    const other = join(dir, "other.parquet.1.tmp");
    for (const f of [dead, live, own, other]) writeFileSync(f, "x");
    expect(cleanStaleTemps([out]).sort()).toEqual([dead, own].sort());
    expect(readdirSync(dir).sort()).toEqual([`attention.parquet.${process.ppid}.tmp`, "other.parquet.1.tmp"].sort());
  });

  it("ensureWritable creates the folder and fails at once on one that cannot be written, naming it", () => {
    const dir = fresh();
    ensureWritable(join(dir, "a", "b", "out.parquet"));
    expect(existsSync(join(dir, "a", "b"))).toBe(true);
    expect(readdirSync(join(dir, "a", "b"))).toEqual([]); // the probe is removed
    // sysfs refuses new entries even to root: a read-only location on any Linux machine
    expect(() => ensureWritable("/sys/heatkv-test/out.parquet")).toThrow(
      /^\/sys\/heatkv-test: cannot create folder \((permission denied|read-only file system|operation not permitted)\)$/,
    );
  });
});

// node/read-file.ts: every JSON/config/schedule read is bounded — devices, FIFOs and directories are refused
// by kind (not "not found", and without hanging), files over the limit are refused before being read, a
// BOM is stripped — and the model loader (folderReader) uses it for config.json.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { READ_LIMITS, readFileBounded, readJsonFile, readTextFile } from "../../node/read-file.js";
import { folderReader } from "../../node/node-backend.js";

const dir = mkdtempSync(join(tmpdir(), "heatkv-read-"));
const opts = { maxBytes: 1024, what: "schedule" };

describe("bounded reads", () => {
  it("a device (/dev/zero) is refused at once, not read until memory runs out", () => {
    const t0 = performance.now();
    expect(() => readTextFile("/dev/zero", { maxBytes: READ_LIMITS.schedule, what: "schedule" })).toThrow(
      "/dev/zero: is a device, not a regular file, expected a schedule file",
    );
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("a directory says so instead of 'not found'; a missing file says not found", () => {
    expect(() => readTextFile(dir, opts)).toThrow(`${dir}: is a directory, expected a schedule file`);
    expect(() => readTextFile(join(dir, "nope.json"), opts)).toThrow(`${join(dir, "nope.json")}: not found (schedule)`);
  });

  it("a FIFO is refused without waiting for a writer", () => {
    const fifo = join(dir, "pipe.json");
    execFileSync("mkfifo", [fifo]);
    expect(() => readTextFile(fifo, opts)).toThrow(`${fifo}: is a FIFO (named pipe), not a regular file, expected a schedule file`);
  });

  it("a file over the limit is refused with both sizes", () => {
    const big = join(dir, "big.json");
    writeFileSync(big, "x".repeat(2048));
    expect(() => readTextFile(big, opts)).toThrow(`${big}: is 2048 bytes, over the 1 KiB limit for a schedule`);
    expect(readTextFile(big, { ...opts, maxBytes: 4096 }).length).toBe(2048);
  });

  it("strips a UTF-8 BOM and names the file on bad JSON", () => {
    const bom = join(dir, "bom.json");
    writeFileSync(bom, '\uFEFF{"a":1}');
    expect(readJsonFile(bom, opts)).toEqual({ a: 1 });
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ nope");
    expect(() => readJsonFile(bad, opts)).toThrow(new RegExp(`^${bad}: not valid JSON \\(`));
  });

  it("the model loader refuses a config.json symlinked to /dev/zero (it used to hang) and a 1 MiB+ config", async () => {
    const m = join(dir, "model");
    mkdirSync(m);
    symlinkSync("/dev/zero", join(m, "config.json"));
    await expect(folderReader(m)("config.json")).rejects.toThrow(`${join(m, "config.json")}: is a device, not a regular file, expected a model config file`);
    const m2 = join(dir, "model2");
    mkdirSync(m2);
    writeFileSync(join(m2, "config.json"), " ".repeat(READ_LIMITS.config + 1));
    await expect(folderReader(m2)("config.json")).rejects.toThrow(/config\.json: is 1048577 bytes, over the 1 MiB limit for a model config/);
    expect(readFileBounded(join(m2, "config.json"), { maxBytes: READ_LIMITS.config + 1, what: "x" }).length).toBe(READ_LIMITS.config + 1);
  });
});

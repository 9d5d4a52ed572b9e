// node/lock.ts: one writer per output — a second taker fails at once naming the lock and the owner's pid; a
// lock whose owner is dead (or whose pid now belongs to another process) is taken over; release removes it.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock, lockPathFor, processStartTicks } from "../../node/lock.js";

const dir = mkdtempSync(join(tmpdir(), "heatkv-lock-"));

describe("output lock", () => {
  it("a second writer of the same output fails at once, naming the lock and the holder's pid", () => {
    const out = join(dir, "a.parquet");
    const lock = acquireLock(out, "heatkv calibrate");
    try {
      expect(JSON.parse(readFileSync(lockPathFor(out), "utf8"))).toMatchObject({ pid: process.pid, purpose: "heatkv calibrate" });
      expect(() => acquireLock(out, "heatkv calibrate")).toThrow(
        new RegExp(`^${lockPathFor(out)}: locked by pid ${process.pid} \\(heatkv calibrate, started `),
      );
    } finally {
      lock.release();
    }
    expect(existsSync(lockPathFor(out))).toBe(false);
    acquireLock(out, "again").release(); // free again
  });

  it("a lock held by another live process is respected", async () => {
    const out = join(dir, "b.parquet");
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 20000)"], { stdio: "ignore" });
    try {
      await new Promise((ok) => child.once("spawn", ok));
      writeFileSync(
        lockPathFor(out),
        JSON.stringify({ pid: child.pid, startTicks: processStartTicks(child.pid!), startedAt: "t", host: hostname(), purpose: "heatkv sweep" }),
      );
      expect(() => acquireLock(out, "heatkv sweep")).toThrow(`locked by pid ${child.pid} (heatkv sweep`);
    } finally {
      child.kill();
    }
  });

  it("a stale lock (owner dead, or its pid reused by another process) is taken over", () => {
    const out = join(dir, "c.parquet");
    writeFileSync(lockPathFor(out), JSON.stringify({ pid: 2147483646, startTicks: 1, startedAt: "t", host: hostname(), purpose: "heatkv calibrate" }));
    const l1 = acquireLock(out, "heatkv calibrate");
    expect(JSON.parse(readFileSync(lockPathFor(out), "utf8")).pid).toBe(process.pid);
    l1.release();
    // our own pid but another start time: the pid was reused, the old owner is gone
    writeFileSync(lockPathFor(out), JSON.stringify({ pid: process.pid, startTicks: -5, startedAt: "t", host: hostname(), purpose: "old" }));
    const l2 = acquireLock(out, "heatkv calibrate");
    expect(JSON.parse(readFileSync(lockPathFor(out), "utf8")).purpose).toBe("heatkv calibrate");
    l2.release();
  });
});

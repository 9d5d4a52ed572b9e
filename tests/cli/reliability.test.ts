// The real `heatkv` commands (bin/heatkv.js spawned in a temp folder) on the inputs of issue #13: an output
// that is also an input or a model file is refused naming both paths and the input is left intact; a bad
// --schedule (directory, device, empty --out) or --sigmas is one line before any work. Exit status 1.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runSchedule, readConfig } from "../../jobs/schedule.js";
import { MODEL_DIR } from "../../node/node-backend.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "heatkv-cli-rel-"));

/** Run `heatkv args…` in `dir`: exit code and stderr. */
function heatkv(...args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [join(ROOT, "bin", "heatkv.js"), ...args], { cwd: dir, timeout: 120_000 }, (e, stdout, stderr) =>
      ok({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stderr: String(stderr), stdout: String(stdout) }),
    );
  });
}

/** The command failed with exactly one line on stderr matching `re`. */
function expectOneLineError(r: { code: number; stderr: string }, re: RegExp | string): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  if (typeof re === "string") expect(lines[0]).toContain(re);
  else expect(lines[0]).toMatch(re);
}

const stats = join(dir, "st.parquet");
const sched = join(dir, "s.json");
let model: string;
beforeAll(async () => {
  writeFileSync(stats, "PAR1 pretend statistics");
  await runSchedule(readConfig(join(MODEL_DIR, "config.json")), { method: "uniform", budget: "50%", stats, params: [], fp16: false, out: sched }, () => {});
  // a model folder of symlinks to the shipped files: a planted bug can only replace a symlink, never data/model
  model = join(dir, "model");
  mkdirSync(join(model, "recalkv"), { recursive: true });
  for (const f of readdirSync(MODEL_DIR)) if (f !== "recalkv") symlinkSync(join(MODEL_DIR, f), join(model, f));
  for (const f of readdirSync(join(MODEL_DIR, "recalkv"))) symlinkSync(join(MODEL_DIR, "recalkv", f), join(model, "recalkv", f));
});

describe("heatkv: an output is never one of the inputs", () => {
  it.concurrent("schedule --stats st.parquet --out st.parquet is refused and the statistics are kept", async () => {
    const before = readFileSync(stats, "utf8");
    expectOneLineError(
      await heatkv("schedule", "-m", "uniform", "--stats", "st.parquet", "--out", "st.parquet"),
      "--out st.parquet is the input --stats st.parquet",
    );
    expect(readFileSync(stats, "utf8")).toBe(before);
  });

  it.concurrent("schedule --out a.json --reference-orders a.json is refused", async () => {
    expectOneLineError(
      await heatkv("schedule", "-m", "heatkv", "--stats", "st.parquet", "--out", "a.json", "--reference-orders", "./a.json"),
      "--reference-orders ./a.json and --out a.json are the same file",
    );
  });

  it.concurrent("generate --schedule s.json --out s.json is refused and the schedule is kept", async () => {
    const before = readFileSync(sched, "utf8");
    expectOneLineError(await heatkv("generate", "--schedule", "s.json", "--out", "s.json"), "--out s.json is the input --schedule s.json");
    expect(readFileSync(sched, "utf8")).toBe(before);
  });

  it.concurrent("calibrate -o <model>/config.json is refused before any work", async () => {
    expectOneLineError(
      await heatkv("calibrate", "--model", model, "--prompts", "0", "--seeds", "1", "-o", join(model, "config.json")),
      `--out ${join(model, "config.json")} is inside the model folder ${model}`,
    );
    expect(readdirSync(model).some((f) => f.includes("shards") || f.endsWith(".tmp"))).toBe(false);
  });

  it.concurrent("sweep --stats X -o X is refused and X is kept", async () => {
    const before = readFileSync(stats, "utf8");
    expectOneLineError(
      await heatkv("sweep", "--methods", "uniform", "--stats", "st.parquet", "-o", "st.parquet"),
      "--out st.parquet is the input --stats st.parquet",
    );
    expect(readFileSync(stats, "utf8")).toBe(before);
  });

  it.concurrent("tune -o <stats> is refused", async () => {
    expectOneLineError(
      await heatkv("tune", "--metric", "psnr", "--target", "10", "-m", "uniform", "--stats", "st.parquet", "-o", "st.parquet"),
      "is the input --stats",
    );
  });
});

describe("heatkv: bad inputs are one line before any work", () => {
  it.concurrent("--schedule <directory> says it is a directory (not 'not found')", async () => {
    mkdirSync(join(dir, "adir"), { recursive: true });
    expectOneLineError(await heatkv("generate", "--schedule", "adir", "--out", "x.png"), "adir: is a directory, expected a schedule file");
  });

  it.concurrent("--schedule /dev/zero is refused at once (it used to grow to 17 GB)", async () => {
    expectOneLineError(
      await heatkv("generate", "--schedule", "/dev/zero", "--out", "x.png"),
      "/dev/zero: is a device, not a regular file, expected a schedule file",
    );
  });

  it.concurrent('--out "" is refused and leaves no .<pid>.tmp behind', async () => {
    expectOneLineError(await heatkv("generate", "--out", ""), "--out: the output path is empty");
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it.concurrent("tune --sigmas 9 names the allowed σ range", async () => {
    expectOneLineError(
      await heatkv("tune", "--metric", "psnr", "--target", "10", "-m", "heatkv", "--sigmas", "9", "-o", "t.json"),
      "--sigmas: σ = 9 is outside [0, 5] for heatkv",
    );
  });

  it.concurrent("generate --low-rank r75 with a full-width schedule is refused before generation", async () => {
    const r = await heatkv("generate", "--low-rank", "r75", "--schedule", "s.json", "--out", "lr.png");
    expectOneLineError(r, "s.json: a full-width uniform schedule cannot run on the low-rank variant r75");
    expect(readdirSync(dir)).not.toContain("lr.png");
  });
});

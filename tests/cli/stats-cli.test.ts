// `heatkv stats validate FILE|DIR` (cli/stats-cli.ts) as a user runs it: the ok line and exit 0 on a valid
// store, one line naming the file, the first offending row and the rule and exit 1 on a broken one.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { calibrate } from "../../jobs/calibrate.js";

const ROOT = join(import.meta.dirname, "..", "..");
const heatkv = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, "bin", "heatkv.js"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });

let dir: string;
let store: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "heatkv-stats-cli-"));
  store = join(dir, "attention.parquet");
  await calibrate({ out: store, classes: [1], seeds: [2], progress: false, log: () => {} });
}, 60_000);

describe("heatkv stats validate", () => {
  it("prints the ok line for a valid store and for its folder of shards", () => {
    const r = heatkv("stats", "validate", store);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^ok: 1 prompts × 2 branches \(cond, uncond\) × 6 layers × 8 heads × 28 \(t, s ≤ t\) = 2688 rows in 1 file; model heatkv-emoji-var-v1 /,
    );
    const shards = join(`${store}.shards`, readdirSync(`${store}.shards`)[0]);
    const d = heatkv("stats", "validate", shards);
    expect(d.status).toBe(0);
    expect(d.stdout).toMatch(/^ok: 1 prompts × .* = 2688 rows in 1 file; /); // c1_s2_tokens.parquet is skipped
    const up = heatkv("stats", "validate", `${store}.shards`); // the shards sit one folder deeper, under the settings hash
    expect(up.status).toBe(1);
    expect(up.stderr.trim()).toMatch(/attention\.parquet\.shards: is a folder without statistics files/);
  });
  it("exits 1 with one line for a broken file", async () => {
    const bad = join(dir, "uncond.parquet");
    const db = await DuckDBInstance.create(":memory:");
    const c = await db.connect();
    await c.run(`COPY (SELECT * FROM read_parquet('${store}') WHERE branch = 'uncond') TO '${bad}' (FORMAT parquet)`);
    c.closeSync();
    db.closeSync();
    const r = heatkv("stats", "validate", bad);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([
      `heatkv: ${bad}: field "branch" row 0 (prompt c1_s2, branch uncond, layer 0, head 0, target_scale 0, source_scale 0): prompt c1_s2 has no cond rows (only uncond): S-CAS and every schedule are built from the cond branch`,
    ]);
  });
});

// tools/torch_hook.py against the TypeScript calibration: the same greedy prompts (cfg 3, top-k 1) through
// PyTorch with the forward hook and through onnxruntime-node must give the same masses (|Δ| < 1e-4), and
// DuckDB must read the per-prompt shards as one glob (a re-run overwrites, never duplicates; NaN runs are
// refused). Also FoundationVision/VAR's SelfAttention hook against an explicit computation (tests/tools/foundation_var_hook.py). Needs /usr/bin/python3 with torch + onnx
// (the retraining dependencies); without them the suite is skipped with the reason.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { calibrate } from "../../jobs/calibrate.js";
import { SCALE_COLUMNS, validateStats } from "../../node/stats-store.js";
import { statsFilesOf, validateStatsFiles } from "../../node/stats-validate.js";
import { type ModelConfig, parseConfig } from "../../src/lib/model/index.js";
import { lastJson, PYTHON, python, pythonHas, ROOT, skipUnlessAvailable, sql } from "./helpers.js";

const skip = skipUnlessAvailable("tests/tools/torch-hook", pythonHas(["torch", "onnx", "numpy"]), "apt-get install python3-torch python3-numpy python3-onnx");

const PROMPTS = [
  { classIndex: 0, seed: 1, rank: "0", flags: [] },
  { classIndex: 1, seed: 1, rank: "1", flags: ["--plain"] }, // one shard with PLAIN strings, one dictionary-encoded
];

describe.skipIf(skip)("torch hook vs TS calibration", () => {
  const dir = mkdtempSync(join(tmpdir(), "heatkv-hook-"));
  const ts = join(dir, "ts", "attention.parquet");
  const shards = join(dir, "shards");
  const glob = join(shards, "*.parquet");
  let cfg: ModelConfig;
  const runs: { compare?: { max_abs_err: number; joined: number }; shard: string; fixture_logit_err: number; fixture_tokens_match?: boolean }[] = [];

  beforeAll(async () => {
    cfg = parseConfig(JSON.parse(readFileSync(join(ROOT, "data", "model", "config.json"), "utf8")));
    await calibrate({ out: ts, classes: PROMPTS.map((p) => p.classIndex), seeds: [1], settings: { topK: 1, cfg: 3 }, progress: false, log: () => {} });
    for (const p of PROMPTS) {
      // two separate processes (as two GPU ranks would be): two shards in one folder
      runs.push(
        lastJson(
          python(["tools/check_torch_hook.py", "--class", String(p.classIndex), "--seed", String(p.seed), "--out-dir", shards, "--ts", ts, ...p.flags], {
            RANK: p.rank,
          }),
        ),
      );
    }
  }, 120_000);

  it("reconstructs the exported weights and the greedy tokens", () => {
    for (const r of runs) expect(r.fixture_logit_err).toBeLessThan(1e-3);
    expect(runs[0].fixture_tokens_match).toBe(true); // fixture.json greedy reference is class 0, cfg 3
  });

  it("writes one shard per prompt, in the heatkv-stats/1 schema, that the stats store validates", async () => {
    const files = readdirSync(shards).filter((f) => f.endsWith(".parquet"));
    expect(files.length).toBe(2);
    for (const f of files) expect(f).toMatch(/^stats-c[01]_s1-[0-9a-f]{10}\.parquet$/);
    const types = await sql(`DESCRIBE SELECT * FROM read_parquet('${glob}')`);
    expect(types.map((t) => [t.column_name, t.column_type])).toEqual(Object.entries(SCALE_COLUMNS));
    const K = cfg.patchNums.length;
    const perPrompt = 2 * cfg.numLayers * cfg.numHeads * ((K * (K + 1)) / 2);
    for (const f of files) expect(await validateStats(join(shards, f), cfg)).toEqual({ rows: perPrompt, prompts: 1 }); // one file at a time
    expect(Number((await sql(`SELECT count(*) AS n FROM read_parquet('${glob}')`))[0].n)).toBe(2 * perPrompt);
    const meta = await sql(`SELECT DISTINCT prompt, class_name, backend, cfg, top_k FROM read_parquet('${glob}') ORDER BY prompt`);
    expect(meta).toEqual(
      PROMPTS.map((p) => ({ prompt: `c${p.classIndex}_s${p.seed}`, class_name: cfg.classes[p.classIndex], backend: "torch-hook", cfg: 3, top_k: 1 })),
    );
  });

  it("max |mass_ts − mass_torch| < 1e-4 over every row (joined on prompt, branch, layer, head, t, s)", async () => {
    const r = await sql(`SELECT count(*) AS n, max(abs(a.mass - b.mass)) AS err,
        (SELECT count(*) FROM read_parquet('${ts}')) AS nts, (SELECT count(*) FROM read_parquet('${glob}')) AS npt
      FROM read_parquet('${ts}') a JOIN read_parquet('${glob}') b USING (prompt, branch, layer, head, target_scale, source_scale)`);
    expect(Number(r[0].n)).toBe(Number(r[0].nts));
    expect(Number(r[0].n)).toBe(Number(r[0].npt));
    const err = Number(r[0].err);
    console.log(`torch hook vs TS calibration: ${r[0].n} rows, max |Δmass| = ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
    for (const run of runs) expect(run.compare!.max_abs_err).toBeLessThan(1e-4); // the CLI's own comparison
    const sums = await sql(
      `SELECT max(abs(m - 1)) AS e FROM (SELECT sum(mass) AS m FROM read_parquet('${glob}') GROUP BY prompt, branch, layer, head, target_scale)`,
    );
    expect(Number(sums[0].e)).toBeLessThan(1e-5);
  });

  it("a re-run of a prompt into the same folder overwrites its shard (deterministic names): the folder stays valid", async () => {
    const before = readdirSync(shards).sort();
    const p = PROMPTS[0];
    python(["tools/check_torch_hook.py", "--class", String(p.classIndex), "--seed", String(p.seed), "--out-dir", shards], { RANK: "1" }); // another rank, pid
    expect(readdirSync(shards).sort()).toEqual(before);
    expect(await validateStatsFiles(statsFilesOf(shards), cfg)).toMatchObject({ files: 2, prompts: 2 });
  });

  it("shard names come from prompt + settings, and non-finite activations are refused with a message that says so", () => {
    const r = lastJson(python(["tests/tools/hook_guards.py"]));
    expect(r.second).toEqual(r.first); // a second run of the same prompt and settings: the same file
    expect(r.other_settings).not.toEqual(r.first);
    expect(r.files).toEqual([...r.first, ...r.other_settings].sort());
    expect(r.observe_nan).toMatch(/^FloatingPointError: layer 0, scale 0: 1 non-finite value\(s\) \(NaN\/Inf\) in the queries: .*refusing to record/);
    expect(r.foundation_nan).toMatch(/^FloatingPointError: layer 0, scale 0: \d+ non-finite value\(s\) \(NaN\/Inf\) in the queries/); // was a cached_k layout error
  });

  it("FoundationVision/VAR SelfAttention hook matches an explicit computation (or says why it cannot run)", () => {
    const r = lastJson(python(["tests/tools/foundation_var_hook.py"]));
    if (r.skipped) {
      console.warn(`FoundationVision/VAR hook check skipped: ${r.skipped}`);
      return;
    }
    console.log(`FoundationVision/VAR hook: max |Δmass| = ${Number(r.max_abs_err).toExponential(2)} ${JSON.stringify(r.cases)}`);
    expect(r.max_abs_err).toBeLessThan(1e-5);
  });
});

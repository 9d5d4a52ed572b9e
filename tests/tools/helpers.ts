// Shared helpers of the tests/tools suite: a throw-away DuckDB connection and the Python interpreter.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

export const ROOT = join(import.meta.dirname, "..", "..");
export const PYTHON = process.env.HEATKV_PYTHON ?? "/usr/bin/python3";

export async function sql(q: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(":memory:", { threads: "1" });
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** Run python (cwd = repo root); throws with its stderr on failure. */
export function python(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): string {
  const r = spawnSync(PYTHON, args, { cwd: ROOT, encoding: "utf8", timeout: timeoutMs, env: { ...process.env, OMP_NUM_THREADS: "1", ...env } });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${PYTHON} ${args.join(" ")} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** Whether `import <mods>` works in PYTHON, and the error line when not. */
export function pythonHas(mods: string[]): { ok: boolean; why: string } {
  const r = spawnSync(PYTHON, ["-c", `import ${mods.join(", ")}`], { encoding: "utf8", timeout: 60_000 });
  if (r.error) return { ok: false, why: String(r.error.message) };
  return { ok: r.status === 0, why: (r.stderr || "").trim().split("\n").pop() ?? "" };
}

/**
 * An environment skip (a missing Debian package) is a warning on a developer's machine and an error in CI
 * (CI=true): `npm run setup` installs the packages there, so a skip would only hide a broken set-up.
 */
export function skipUnlessAvailable(suite: string, deps: { ok: boolean; why: string }, install: string): boolean {
  if (deps.ok) return false;
  const msg = `${suite}: ${PYTHON} lacks the retraining dependencies (${deps.why}); install them with \`${install}\` (npm run setup does)`;
  if (process.env.CI === "true") throw new Error(`CI=true: ${msg}`);
  console.warn(`${msg} — skipped`);
  return true;
}

export const lastJson = (s: string) => JSON.parse(s.trim().split("\n").pop() ?? "{}");

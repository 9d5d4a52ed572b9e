// `npm run build`: prefill Framework's npm cache from node_modules, then run `observable build` under the
// network guard (tools/offline-guard.mjs, inherited by every data loader through NODE_OPTIONS). Any
// attempt to reach a host other than loopback — CDN, npm registry, telemetry, DuckDB extensions — kills the
// build (exit 97). On success writes dist/_heatkv/build.json with the timing and the (empty) list of
// blocked requests, which the e2e tests check.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { prefill, ROOT } from "./prefill-framework-cache.js";

export interface BuildReport {
  ok: boolean;
  guard: string;
  blocked: unknown[];
  prefill_ms: number;
  build_ms: number;
  node: string;
  built_at: string;
}

/** Environment for a network-guarded child process (Framework and the loaders it spawns). */
export function guardedEnv(netLog: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const guard = pathToFileURL(join(ROOT, "tools", "offline-guard.mjs")).href;
  return {
    ...process.env,
    ...extra,
    HEATKV_NET_LOG: netLog,
    OBSERVABLE_TELEMETRY_DISABLE: "true",
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import ${guard}`].filter(Boolean).join(" "),
    PATH: [join(ROOT, "node_modules", ".bin"), process.env.PATH].join(delimiter),
  };
}

export const FRAMEWORK_CLI = join(ROOT, "node_modules", "@observablehq", "framework", "dist", "bin", "observable.js");

/** The build clears its output folder: never the project, a folder holding it, or the site's sources. */
export function checkOutputFolder(out: string): void {
  const src = join(ROOT, "src");
  const inside = (dir: string, parent: string) => dir === parent || dir.startsWith(parent.endsWith(sep) ? parent : parent + sep);
  if (inside(ROOT, out) || inside(out, src)) {
    throw new Error(
      `HEATKV_DIST=${out}: the build clears its output folder; use a folder that is neither the project (${ROOT}), one of its parents, nor inside src/ (e.g. dist or /tmp/heatkv-dist)`,
    );
  }
}

export async function buildSite(output = process.env.HEATKV_DIST ?? "dist"): Promise<BuildReport> {
  const t0 = performance.now();
  // Framework clears only an output folder inside the project; one elsewhere (HEATKV_DIST=/tmp/x) would keep
  // old hashed files and fail with "file conflict". Clear it ourselves, but only if it holds a previous build.
  const out = resolve(ROOT, output);
  checkOutputFolder(out);
  if (!out.startsWith(ROOT + sep) && existsSync(join(out, "_observablehq"))) rmSync(out, { recursive: true, force: true });
  await prefill(ROOT);
  const t1 = performance.now();
  const netLog = join(tmpdir(), `heatkv-build-net-${process.pid}.jsonl`);
  rmSync(netLog, { force: true });
  const env = guardedEnv(netLog, { HEATKV_DIST: output });
  const result = spawnSync(process.execPath, [FRAMEWORK_CLI, "build"], { cwd: ROOT, env, stdio: "inherit" });
  const t2 = performance.now();
  const blocked = existsSync(netLog)
    ? readFileSync(netLog, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as unknown)
    : [];
  rmSync(netLog, { force: true });
  const report: BuildReport = {
    ok: result.status === 0 && blocked.length === 0,
    guard: "tools/offline-guard.mjs (fatal)",
    blocked,
    prefill_ms: Math.round(t1 - t0),
    build_ms: Math.round(t2 - t1),
    node: process.version,
    built_at: new Date().toISOString(),
  };
  if (report.ok) {
    mkdirSync(resolve(ROOT, output, "_heatkv"), { recursive: true });
    writeFileSync(resolve(ROOT, output, "_heatkv", "build.json"), JSON.stringify(report, null, 2) + "\n");
  }
  console.log(
    report.ok
      ? `build: ok in ${((t2 - t0) / 1000).toFixed(1)} s (prefill ${report.prefill_ms} ms), 0 external requests`
      : `build: FAILED (exit ${result.status ?? result.signal}); blocked external requests: ${JSON.stringify(blocked)}`,
  );
  return report;
}

if (import.meta.filename === process.argv[1]) {
  const report = await buildSite();
  process.exit(report.ok ? 0 : 1);
}

// e2e global setup: build dist/ (npm run build = tools/build.ts, network-guarded) when it is missing or
// older than its sources, so `npm run test:e2e` works on a fresh clone and never tests a stale site.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BUILD_REPORT, ROOT } from "./paths.js";

const SOURCES = ["src", "jobs", "node", "data/model", "tools", "observablehq.config.ts", "package.json"];

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let t = 0;
  for (const e of readdirSync(path)) if (!e.startsWith(".")) t = Math.max(t, newest(join(path, e)));
  return t;
}

export default function setup(): void {
  const built = existsSync(BUILD_REPORT) ? statSync(BUILD_REPORT).mtimeMs : 0;
  const sources = Math.max(...SOURCES.map((p) => newest(join(ROOT, p))));
  if (built && built >= sources) return;
  console.log(built ? "e2e: dist/ is older than its sources, rebuilding" : "e2e: no dist/, building it");
  const tsx = join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
  const r = spawnSync(process.execPath, [tsx, join(ROOT, "tools", "build.ts")], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`build failed (exit ${r.status ?? r.signal})`);
}

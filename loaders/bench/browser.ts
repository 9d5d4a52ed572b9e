/** Runs loaders/bench/page.ts in headless Debian chromium (playwright-core) on a local static server. */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { serveStatic } from "../../tests/e2e/server.js";
import { MODEL_DIR } from "../node-backend.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface BrowserBench {
  backend: string;
  loadMs: number;
  total: number[];
  ortMs: number[];
  peak: number;
}

/** Bundle the bench page with the model and ORT's wasm files into a temp folder. */
async function stage(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "heatkv-bench-"));
  await build({ entryPoints: [join(import.meta.dirname, "page.ts")], bundle: true, format: "esm", platform: "browser", outfile: join(dir, "bench.js"), logLevel: "error" });
  writeFileSync(join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><title>heatkv bench</title><script type="module" src="bench.js"></script>`);
  mkdirSync(join(dir, "ort"));
  const ortDist = join(ROOT, "node_modules", "onnxruntime-web", "dist");
  for (const f of readdirSync(ortDist)) if (/^ort-wasm-simd-threaded\.(jsep\.)?(wasm|mjs)$/.test(f)) cpSync(join(ortDist, f), join(dir, "ort", f));
  cpSync(MODEL_DIR, join(dir, "model"), { recursive: true });
  return dir;
}

export async function benchBrowser(images: number, prefer: "wasm" | "webgpu"): Promise<BrowserBench> {
  const dir = await stage();
  const srv = await serveStatic(dir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...(prefer === "webgpu" ? ["--enable-unsafe-webgpu"] : [])] });
  try {
    const page = await browser.newPage();
    const external: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(srv.url) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) external.push(r.url());
    });
    await page.goto(`${srv.url}/index.html`);
    await page.waitForFunction(() => "runBench" in globalThis);
    const res = (await page.evaluate(([n, p]) => (globalThis as unknown as { runBench: (n: number, p: string) => Promise<unknown> }).runBench(n as number, p as string), [images, prefer])) as BrowserBench;
    if (external.length) throw new Error(`bench page requested non-local URLs: ${external.join(", ")}`);
    return res;
  } finally {
    await browser.close();
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

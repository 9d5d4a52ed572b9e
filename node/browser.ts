/**
 * Runs the runtime in headless Debian chromium (playwright-core) on a local static server: the page bundle
 * (node/browser-page.ts), onnxruntime-web's wasm files and the model are staged into a temp folder.
 * Every request must stay on 127.0.0.1.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import type { CalibrationSettings, Prompt, PromptStats } from "../src/lib/metrics/calibration.js";
import type { GenerateOptions } from "../src/lib/var/runtime.js";
import type { SelfCheck } from "../src/lib/var/selfcheck.js";
import type { PlainTensor } from "./browser-page.js";
import { serveStatic, type StaticServer } from "./static-server.js";
import { CHROMIUM, launchChromium } from "./chromium.js";
import { MODEL_DIR } from "./node-backend.js";

const ROOT = resolve(import.meta.dirname, "..");

async function stage(modelDir: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "heatkv-browser-"));
  await build({
    entryPoints: [join(import.meta.dirname, "browser-page.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    outfile: join(dir, "page.js"),
    logLevel: "error",
  });
  writeFileSync(join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><title>heatkv</title><script type="module" src="page.js"></script>`);
  mkdirSync(join(dir, "ort"));
  const ortDist = join(ROOT, "node_modules", "onnxruntime-web", "dist");
  for (const f of readdirSync(ortDist)) if (/^ort-wasm-simd-threaded\.(jsep\.)?(wasm|mjs)$/.test(f)) cpSync(join(ortDist, f), join(dir, "ort", f));
  cpSync(modelDir, join(dir, "model"), { recursive: true });
  return dir;
}

type Api = {
  load(prefer: string): Promise<{ backend: string; note: string; loadMs: number }>;
  bench(n: number): Promise<{ total: number[]; ortMs: number[]; peak: number }>;
  calibrate(p: Prompt, s: CalibrationSettings): Promise<PromptStats>;
  webgpuInfo(): Promise<{ adapter: boolean; software: boolean; description: string }>;
  generate(opts: BrowserGenerateOptions, logitsAt?: number[]): Promise<{ tokens: number[][]; logits: Record<number, number[]> }>;
  selfChecks(): Promise<{ backend: string; base: SelfCheck; variants: Record<string, SelfCheck> }>;
  runGraph(
    file: string,
    ep: "wasm" | "webgpu",
    feeds: Record<string, PlainTensor>,
    workaround: boolean,
  ): Promise<{ outputs?: Record<string, { dims: number[]; data: number[] }>; error?: string }>;
  compareProviders(file: string, feeds: Record<string, PlainTensor>): Promise<Record<string, number>>;
};

/** What a page-side generation takes (plain data: it crosses into the page). */
export type BrowserGenerateOptions = Pick<GenerateOptions, "classIndex" | "seed" | "cfg" | "topK" | "topP" | "temperature">;

/** " on SwiftShader (CPU-emulated)" for chromium's software adapter; " on <adapter>" for a hardware one. */
export function webgpuAdapterLabel(info: { adapter: boolean; software: boolean; description: string }): string {
  if (!info.adapter) return "";
  const name = /swiftshader/i.test(info.description) ? "SwiftShader" : info.description || "unnamed adapter";
  return ` on ${name}${info.software ? " (CPU-emulated)" : ""}`;
}

export class BrowserRuntime {
  private constructor(
    private readonly dir: string,
    private readonly srv: StaticServer,
    private readonly browser: Browser,
    private readonly page: Page,
    private readonly external: string[],
  ) {}

  /** `webgpu` adds --enable-unsafe-webgpu so chromium exposes an adapter (SwiftShader on machines without a GPU). */
  static async start(webgpu: boolean, modelDir = MODEL_DIR): Promise<BrowserRuntime> {
    const dir = await stage(modelDir);
    const srv = await serveStatic(dir);
    let browser: Browser;
    try {
      browser = await launchChromium({ webgpu });
    } catch (e) {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`cannot start ${CHROMIUM} (install Debian chromium: npm run setup): ${(e as Error).message.split("\n")[0]}`);
    }
    const page = await browser.newPage();
    const external: string[] = [];
    page.on("request", (r) => {
      const u = r.url();
      if (!u.startsWith(srv.url) && !u.startsWith("data:") && !u.startsWith("blob:")) external.push(u);
    });
    await page.goto(`${srv.url}/index.html`);
    await page.waitForFunction(() => "heatkv" in globalThis);
    return new BrowserRuntime(dir, srv, browser, page, external);
  }

  private call<K extends keyof Api>(name: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> {
    return this.page.evaluate(
      ([n, a]) =>
        ((globalThis as unknown as { heatkv: Record<string, (...x: unknown[]) => unknown> }).heatkv[n as string] as (...x: unknown[]) => unknown)(
          ...(a as unknown[]),
        ),
      [name, args] as const,
    ) as Promise<Awaited<ReturnType<Api[K]>>>;
  }

  load(prefer: "wasm" | "webgpu") {
    return this.call("load", prefer);
  }
  bench(images: number) {
    return this.call("bench", images);
  }
  calibrate(p: Prompt, s: CalibrationSettings) {
    return this.call("calibrate", p, s);
  }
  webgpuInfo() {
    return this.call("webgpuInfo");
  }
  /** Full-cache generation in the page: tokens per scale, and the raw step logits of the scales in `logitsAt`. */
  generate(opts: BrowserGenerateOptions, logitsAt: number[] = []) {
    return this.call("generate", opts, logitsAt);
  }
  /** How to label timings of a backend that ran here: the WebGPU adapter, said to be CPU-emulated when it is. */
  async adapterLabel(backend: string): Promise<string> {
    if (!backend.includes("webgpu")) return "";
    return webgpuAdapterLabel(await this.webgpuInfo());
  }
  /** After load(): the step graph and every ReCalKV variant vs their PyTorch fixtures. */
  selfChecks() {
    return this.call("selfChecks");
  }
  /** One graph of the staged model folder on one provider (`workaround`: the runtime's webBackend path). */
  runGraph(file: string, ep: "wasm" | "webgpu", feeds: Record<string, PlainTensor>, workaround: boolean) {
    return this.call("runGraph", file, ep, feeds, workaround);
  }
  /** Largest |WebGPU − wasm| per output of one graph. */
  compareProviders(file: string, feeds: Record<string, PlainTensor>) {
    return this.call("compareProviders", file, feeds);
  }

  async close(): Promise<void> {
    await this.browser.close();
    await this.srv.close();
    rmSync(this.dir, { recursive: true, force: true });
    if (this.external.length) throw new Error(`the page requested non-local URLs: ${this.external.join(", ")}`);
  }
}

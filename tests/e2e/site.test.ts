// End-to-end: the built site (dist/) served on 127.0.0.1 by node/static-server.ts, in headless Debian
// chromium. Checks real content (chart marks, SQL vs the Parquet file, the ORT output tensor), that no
// request left 127.0.0.1, no console errors, no 404s; screenshots every page into tests/e2e/screenshots/.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FRAMEWORK_CLI, guardedEnv, type BuildReport } from "../../tools/build.js";
import { launchChromium, recordedContext, type PageLog } from "./browser.js";
import { BUILD_REPORT, builtFile, DIST, ROOT } from "./paths.js";
import { serveStatic, type StaticServer } from "../../node/static-server.js";
import { expectClean, screenshot } from "./site-session.js";

const config = JSON.parse(readFileSync(join(ROOT, "data", "model", "config.json"), "utf8")) as {
  model_id: string;
  patch_nums: number[];
  image_size: number;
};

/** Facts about the built Parquet file, read in Node with @duckdb/node-api (not with the code under test). */
async function parquetFacts(path: string): Promise<{ rows: number; scales: number; fullCacheBytes: number }> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT COUNT(*)::DOUBLE, COUNT(DISTINCT scale)::DOUBLE, (SUM(bytes) FILTER (WHERE cached))::DOUBLE FROM read_parquet('${path}')`,
    );
    const [rows, scales, fullCacheBytes] = reader.getRows()[0].map(Number);
    return { rows, scales, fullCacheBytes };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

let server: StaticServer;

beforeAll(async () => {
  server = await serveStatic(DIST);
});

afterAll(async () => {
  await server?.close();
});

describe("build", () => {
  it("was made by tools/build.ts under the fatal network guard, with zero external requests", () => {
    const report = JSON.parse(readFileSync(BUILD_REPORT, "utf8")) as BuildReport;
    expect(report.ok).toBe(true);
    expect(report.guard).toMatch(/offline-guard/);
    expect(report.blocked).toEqual([]);
  });

  it("the guard really stops Framework: a page that needs the CDN fails the build (exit 97)", () => {
    // Framework would ask the npm registry for lodash's version, then jsDelivr for the module. This
    // machine can reach the registry, so without the guard this build would quietly go online.
    const dir = mkdtempSync(join(tmpdir(), "heatkv-cdn-"));
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "observablehq.config.js"), "export default {root: 'src', globalStylesheets: []};\n");
    writeFileSync(join(dir, "src", "index.md"), '# CDN\n\n```js\nimport _ from "npm:lodash-es";\ndisplay(_.VERSION);\n```\n');
    const netLog = join(dir, "net.jsonl");
    const r = spawnSync(process.execPath, [FRAMEWORK_CLI, "build"], { cwd: dir, env: guardedEnv(netLog), encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(97);
    expect(existsSync(join(dir, "dist", "index.html"))).toBe(false);
    const blocked = readFileSync(netLog, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { host: string });
    expect(blocked[0].host).toMatch(/registry\.npmjs\.org|cdn\.jsdelivr\.net/);
  });

  it("ships one DuckDB-wasm bundle (eh) and one ORT wasm binary, all under the site", () => {
    const files = readdirSync(DIST, { recursive: true, encoding: "utf8" });
    const wasm = files
      .filter((f) => f.endsWith(".wasm"))
      .map((f) => f.split("/").pop())
      .sort();
    expect(wasm).toEqual(["duckdb-eh.wasm", "ort-wasm-simd-threaded.jsep.wasm", "parquet_wasm_bg.wasm"]);
    const html = files.filter((f) => f.endsWith(".html")).map((f) => readFileSync(join(DIST, f), "utf8"));
    for (const page of html) expect(page).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[^"' )]*\.(js|css|wasm)/);
  });
});

describe.each([
  { label: "webgpu", webgpu: true },
  { label: "wasm", webgpu: false },
])("site in chromium ($label)", ({ label, webgpu }) => {
  let browser: Browser;
  let page: Page;
  let log: PageLog;

  beforeAll(async () => {
    browser = await launchChromium({ webgpu });
    ({ page, log } = await recordedContext(browser, server.url));
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("index: title, model card from config.json, sample grid", async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator("[data-testid=model-card]").count(), { timeout: 60_000 }).toBe(1);
    expect(await page.locator("h1").first().textContent()).toBe("HeatKV Workbench");
    expect(await page.locator("[data-testid=model-card]").getAttribute("data-model-id")).toBe(config.model_id);
    const img = page.locator("img[src*='samples']");
    await expect.poll(() => img.evaluate((e) => (e as HTMLImageElement).naturalWidth), { timeout: 30_000 }).toBeGreaterThan(0);
    if (webgpu) await screenshot(page, "index");
    expectClean(log);
  });

  it("system: DuckDB-wasm SQL over the Parquet, Plot chart, ORT-web decode", async () => {
    await page.goto(`${server.url}/system`);
    const summary = page.locator("[data-testid=sql-summary]");
    const ort = page.locator("[data-testid=ort-result]");
    await summary.waitFor({ timeout: 180_000 });
    await ort.waitFor({ timeout: 240_000 });

    // SQL answered by DuckDB-wasm in the page vs the built Parquet file read in Node
    const parquet = await parquetFacts(builtFile("data/cache_shape.parquet"));
    expect(parquet.rows).toBe(config.patch_nums.length * 6 * 8);
    expect(Number(await summary.getAttribute("data-row-count"))).toBe(parquet.rows);
    expect(Number(await summary.getAttribute("data-full-cache-bytes"))).toBe(parquet.fullCacheBytes);
    expect(Number(await page.locator("[data-testid=sql-result]").getAttribute("data-rows"))).toBe(parquet.scales);

    // Observable Plot: an SVG with one bar per scale, a labelled y axis (KiB) and a colour legend
    const figure = page.locator("figure:has(svg [aria-label=bar])");
    expect(await figure.locator("svg [aria-label=bar] rect").count()).toBe(parquet.scales);
    expect(await figure.locator("svg [aria-label='y-axis label']").textContent()).toContain("KiB");
    expect(await figure.locator("svg [aria-label='x-axis label']").textContent()).toContain("scale");
    expect(await figure.textContent()).toContain("never cached (last scale)");
    expect(await figure.locator("h2").textContent()).toBe("Full-cache KV memory per scale");

    // onnxruntime-web: the backend we expect, the right output shape, the PyTorch image reproduced
    expect(await ort.getAttribute("data-backend")).toBe(label);
    expect(await ort.getAttribute("data-dims")).toBe(`1x3x${config.image_size}x${config.image_size}`);
    expect(Number(await ort.getAttribute("data-run-ms"))).toBeGreaterThan(0);
    expect(Number(await ort.getAttribute("data-max-abs-diff"))).toBeLessThan(1e-3);
    expect(await ort.locator("canvas").getAttribute("data-dims")).toBe(`1x3x${config.image_size}x${config.image_size}`);
    const text = await ort.textContent();
    expect(text).toContain(webgpu ? "WebGPU (" : "not available");

    await screenshot(page, webgpu ? "system" : "system-wasm");
    expectClean(log);
    // the self-hosted wasm binaries came from this server
    for (const wasm of ["duckdb-eh.wasm", "ort-wasm-simd-threaded.jsep.wasm", "parquet_wasm_bg.wasm"]) {
      expect(
        log.requests.some((u) => u.startsWith(server.url) && u.endsWith(wasm)),
        wasm,
      ).toBe(true);
    }
  });
});

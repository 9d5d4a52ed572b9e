/**
 * Head-explorer benchmark in headless chromium (part of `npm run bench`; alone: `npm run bench:explorer`).
 *
 * Shapes: the demo page (/explorer of the built site, real data) and two synthetic sets made here, not
 * shipped with the site (jobs/synthetic-attention.ts): VAR-d16 (680 tokens, 16 × 16 heads, every matrix)
 * and Infinity-2B (13 scales, 32 × 16 heads, matrices of 48 heads pooled to 2,057 cells). A local server
 * serves the built site plus, per synthetic set, a harness page that imports the *built* explorer modules
 * (dist/_import/lib/site/explorer*.js) and the set's files: index.json, heads.arrow (every head's summary),
 * one file per (image, branch, layer, head) matrix and one pyramid file per image — the layout a static
 * host would serve. Matrix files are generated in Node before the timed clicks (the server then only sends
 * bytes, like a static host).
 *
 * Timing of one interaction: from the DOM event's timeStamp (real playwright clicks / selects) to the first
 * requestAnimationFrame callback after the explorer reports the redraw done (data-rendered changes), so it
 * includes fetch over 127.0.0.1, decode, canvas drawing and layout. First paint: bytes of every response
 * (navigation + resources, encodedBodySize) until the explorer's first render, and the time to it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import type { Locator, Page } from "playwright-core";
import { METRIC_NAMES } from "../src/lib/metrics/heads.js";
import { EXPLORER_CLASSES, EXPLORER_SEEDS } from "../jobs/explorer.js";
import type { Row } from "./bench-table.js";
import { launchChromium } from "../node/chromium.js";
import { mimeType, resolveFile } from "../node/static-server.js";
import {
  type AttentionShape,
  infinity2bAttention,
  syntheticPackedHead,
  syntheticPyramid,
  syntheticSummaryRows,
  VAR_D16_ATTENTION,
} from "../jobs/synthetic-attention.js";

export const INTERACTION_TARGET_MS = 100;
const ROOT = resolve(import.meta.dirname, "..");

export type ExplorerBenchRow = Row;

function summaryArrow(shape: AttentionShape): Uint8Array {
  const rows = syntheticSummaryRows(shape);
  const K = shape.patchNums.length;
  const cols: Record<string, unknown> = {};
  cols.image = Int32Array.from(rows, (r) => r.image as number);
  cols.branch = rows.map((r) => r.branch as string);
  cols.layer = Int32Array.from(rows, (r) => r.layer as number);
  cols.head = Int32Array.from(rows, (r) => r.head as number);
  cols.scalekv = rows.map((r) => r.scalekv as string);
  cols.hack = rows.map((r) => r.hack as string);
  for (const m of METRIC_NAMES) cols[m] = Float64Array.from(rows, (r) => r[m] as number);
  for (let t = 0; t < K; t++) for (let s = 0; s <= t; s++) cols[`m${t}_${s}`] = Float64Array.from(rows, (r) => r[`m${t}_${s}`] as number);
  return tableToIPC(tableFromArrays(cols as Parameters<typeof tableFromArrays>[0]), "file");
}

function indexJson(shape: AttentionShape) {
  const lay = { pyramidBytes: shape.patchNums.length * shape.imageSize ** 2 * 3, headBytes: 0 };
  return {
    format: "heatkv-explorer/1",
    model: {
      id: `synthetic-${shape.name}`,
      patchNums: shape.patchNums,
      numLayers: shape.numLayers,
      numHeads: shape.numHeads,
      classes: ["class A", "class B"],
      imageSize: shape.imageSize,
      totalTokens: shape.patchNums.reduce((a, p) => a + p * p, 0),
    },
    gridNums: shape.gridNums,
    images: Array.from({ length: shape.images }, (_, i) => ({ id: i, classIndex: i, className: `class ${"AB"[i]}`, seed: 1 })),
    layout: lay,
    metricRules: { sigma: 3, topK: 16 },
    matrixHeads: shape.matrixHeads,
    note: shape.matrixHeads
      ? `matrices stored for layers ${[...new Set(shape.matrixHeads.map((x) => Math.floor(x / shape.numHeads)))].join(", ")} only`
      : undefined,
  };
}

function builtModule(dist: string, name: string): string {
  const dir = join(dist, "_import", "lib", "site");
  const hit = readdirSync(dir).filter((f) => new RegExp(`^${name}\\.[0-9a-f]{8}\\.js$`).test(f));
  if (hit.length !== 1) throw new Error(`bench-explorer: expected one built ${name}.<hash>.js in ${dir}, found ${hit.length} (run npm run build)`);
  return `/_import/lib/site/${hit[0]}`;
}

function harness(dist: string, shape: AttentionShape): string {
  const base = `/bench-explorer/${shape.name}`;
  return `<!doctype html><meta charset="utf-8"><title>explorer bench ${shape.name}</title><link rel="icon" href="data:,"><body style="font-family:sans-serif;margin:8px">
<script type="module">
import {createExplorer} from "${builtModule(dist, "explorer")}";
import {parseHeadRows, urlSource} from "${builtModule(dist, "explorer-data")}";
const index = await (await fetch("${base}/index.json")).json();
const rows = parseHeadRows(await (await fetch("${base}/heads.arrow")).arrayBuffer(), index.model.patchNums.length);
const ex = createExplorer(urlSource(index, rows, "${base}"), {url: false, width: 1200});
document.body.append(ex);
</script>`;
}

interface Served {
  url: string;
  warm(shape: AttentionShape, heads: [number, number, number, number][]): void;
  close(): Promise<void>;
}

export async function serve(dist: string, shapes: AttentionShape[]): Promise<Served> {
  const files = new Map<string, Uint8Array | string>();
  for (const s of shapes) {
    const base = `/bench-explorer/${s.name}`;
    files.set(`${base}/index.html`, harness(dist, s));
    files.set(`${base}/index.json`, JSON.stringify(indexJson(s)));
    files.set(`${base}/heads.arrow`, summaryArrow(s));
    for (let i = 0; i < s.images; i++) files.set(`${base}/pyramid-${i}.bin`, syntheticPyramid(s, i));
  }
  const byName = new Map(shapes.map((s) => [s.name, s]));
  const headFile = (name: string, image: number, b: number, l: number, h: number) => {
    const key = `/bench-explorer/${name}/head-${image}-${b ? "uncond" : "cond"}-${l}-${h}.bin`;
    const s = byName.get(name)!;
    if (!files.has(key) && (!s.matrixHeads || s.matrixHeads.includes(l * s.numHeads + h))) files.set(key, syntheticPackedHead(s, image, b, l, h));
    return key;
  };
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]);
    const m = path.match(/^\/bench-explorer\/([^/]+)\/head-(\d+)-(cond|uncond)-(\d+)-(\d+)\.bin$/);
    if (m && byName.has(m[1])) headFile(m[1], Number(m[2]), m[3] === "uncond" ? 1 : 0, Number(m[4]), Number(m[5]));
    const mem = files.get(path);
    if (mem !== undefined) {
      res.writeHead(200, {
        "content-type": path.endsWith(".html") ? "text/html; charset=utf-8" : path.endsWith(".json") ? "application/json" : "application/octet-stream",
      });
      return void res.end(mem);
    }
    const f = path.startsWith("/bench-explorer/") ? null : resolveFile(dist, path);
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": mimeType(f) });
    res.end(readFileSync(f));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    warm: (shape, heads) => heads.forEach(([i, b, l, h]) => headFile(shape.name, i, b, l, h)),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

// a string, not a function: tsx would wrap a function's inner closures in __name(), unknown in the page
export const INSTRUMENT = `(() => {
  window.__t0 = 0;
  window.__t1 = 0;
  for (const type of ["click", "change"]) document.addEventListener(type, (e) => void (window.__t0 = e.timeStamp), true);
  const watch = () => {
    const ex = document.querySelector(".heatkv-explorer");
    if (!ex) return void setTimeout(watch, 5);
    new MutationObserver(() => requestAnimationFrame(() => void (window.__t1 = performance.now()))).observe(ex, { attributes: true, attributeFilter: ["data-rendered"] });
  };
  watch();
})();`;

export async function timed(page: Page, action: () => Promise<unknown>): Promise<number> {
  const before = await page.locator(".heatkv-explorer").getAttribute("data-rendered");
  await page.evaluate(() => void ((window as unknown as { __t1: number }).__t1 = 0));
  await action();
  await page.waitForFunction(
    (b) => {
      const w = window as unknown as { __t1: number };
      return document.querySelector(".heatkv-explorer")?.getAttribute("data-rendered") !== b && w.__t1 > 0;
    },
    before,
    { timeout: 60_000 },
  );
  const err = await page.locator(".heatkv-explorer").getAttribute("data-error");
  if (err) throw new Error(`explorer error: ${err}`);
  const ms = await page.evaluate(() => {
    const w = window as unknown as { __t0: number; __t1: number };
    return w.__t1 - w.__t0;
  });
  lastTiming = (await page.locator(".heatkv-explorer").getAttribute("data-timing")) ?? "";
  return ms;
}
/** the explorer's own split of the last timed redraw (overview, fetch + decode, drawing) */
let lastTiming = "";

async function clickCell(canvas: Locator, cols: number, row: number, col: number, rows = cols, shift = false) {
  const box = (await canvas.boundingBox())!;
  await canvas.click({ position: { x: ((col + 0.5) * box.width) / cols, y: ((row + 0.5) * box.height) / rows }, modifiers: shift ? ["Shift"] : [] });
}

interface Target {
  name: string;
  url: string;
  numLayers: number;
  numHeads: number;
  grid: number[];
  images: number;
  classes: number[];
  /** heads (layer, head) with matrices, distinct, for the select and combine clicks */
  heads: [number, number][];
}

async function measure(
  page: Page,
  t: Target,
  reps: number,
): Promise<{
  firstPaintBytes: number;
  firstPaintMs: number;
  resources: number;
  ms: Record<string, number[]>;
  slowest: Record<string, { ms: number; split: string }>;
}> {
  await page.goto(t.url);
  await page.locator(".heatkv-explorer[data-rendered]").waitFor({ timeout: 120_000 });
  const fp = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    const res = performance.getEntriesByType("resource") as PerformanceResourceTiming[];
    return { bytes: nav.encodedBodySize + res.reduce((a, r) => a + r.encodedBodySize, 0), ms: performance.now(), n: res.length };
  });
  const slowest: Record<string, { ms: number; split: string }> = {};
  const ms: Record<string, number[]> = {
    "select head (click, new head)": [],
    "change scale (query rows)": [],
    "click patch (finest scale)": [],
    "reverse direction": [],
    "combine head (shift-click)": [],
    "change image (class)": [],
    "sort/colour by metric": [],
  };
  const overview = page.getByTestId("hx-overview");
  const K = t.grid.length;
  const rec = (k: string, v: number) => {
    ms[k].push(v);
    if (!(slowest[k]?.ms >= v)) slowest[k] = { ms: v, split: lastTiming };
  };
  const metrics = ["sinkMass", "entropy", "spatialDistance", "asi", "locality", "currentShare"];
  await page.getByTestId("hx-sort").selectOption("grid");
  for (let i = 0; i < reps; i++) {
    const [l, h] = t.heads[i % t.heads.length];
    rec("select head (click, new head)", await timed(page, () => clickCell(overview, t.numHeads, l, h, t.numLayers)));
    rec("change scale (query rows)", await timed(page, () => page.getByTestId("hx-scale").selectOption(String(K - 1 - (i % (K - 1))))));
    const g = t.grid[K - 1];
    rec("click patch (finest scale)", await timed(page, () => clickCell(page.getByTestId(`hx-scale-${K - 1}`), g, (i * 3) % g, (i * 5 + 1) % g)));
    rec("reverse direction", await timed(page, () => page.getByTestId("hx-dir").selectOption(i % 2 ? "gives" : "receives")));
    const [l2, h2] = t.heads[(i + reps) % t.heads.length];
    rec("combine head (shift-click)", await timed(page, () => clickCell(overview, t.numHeads, l2, h2, t.numLayers, true)));
    // another class (the demo's images are classes 0, 3, 6 × seeds 1, 2; the synthetic sets' classes 0, 1)
    rec("change image (class)", await timed(page, () => page.getByTestId("hx-class").selectOption(String(t.classes[(i + 1) % t.classes.length]))));
    rec("sort/colour by metric", await timed(page, () => page.getByTestId("hx-metric").selectOption(metrics[i % metrics.length])));
  }
  return { firstPaintBytes: fp.bytes, firstPaintMs: fp.ms, resources: fp.n, ms, slowest };
}

export async function benchExplorer(
  opts: { reps?: number; dist?: string; log?: (s: string) => void; infinityGrid?: number } = {},
): Promise<ExplorerBenchRow[]> {
  const reps = opts.reps ?? 5;
  const log = opts.log ?? ((s: string) => console.error(s));
  const dist = resolve(ROOT, opts.dist ?? process.env.HEATKV_DIST ?? "dist");
  if (!existsSync(join(dist, "explorer.html")))
    throw new Error(`bench-explorer: no built site with /explorer in ${dist} (run npm run build, or set HEATKV_DIST)`);
  const shapes = [VAR_D16_ATTENTION, infinity2bAttention(opts.infinityGrid)];
  const t0 = performance.now();
  const server = await serve(dist, shapes);
  log(`bench-explorer: synthetic summaries ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const rows: ExplorerBenchRow[] = [];
  const demoCfg = JSON.parse(readFileSync(join(ROOT, "data", "model", "config.json"), "utf8")) as {
    num_layers: number;
    num_heads: number;
    patch_nums: number[];
  };
  const pick = (s: AttentionShape, n: number): [number, number][] => {
    const all = s.matrixHeads ?? Array.from({ length: s.numLayers * s.numHeads }, (_, i) => i);
    return Array.from({ length: n }, (_, i) => all[(i * 37 + 5) % all.length]).map((x) => [Math.floor(x / s.numHeads), x % s.numHeads]);
  };
  const targets: Target[] = [
    {
      name: "demo (6 × 8 heads, 155 tokens)",
      url: `${server.url}/explorer`,
      numLayers: demoCfg.num_layers,
      numHeads: demoCfg.num_heads,
      grid: demoCfg.patch_nums,
      images: EXPLORER_CLASSES.length * EXPLORER_SEEDS.length,
      classes: EXPLORER_CLASSES,
      heads: [
        [1, 2],
        [3, 5],
        [5, 7],
        [2, 0],
        [4, 4],
        [0, 6],
        [1, 1],
        [3, 3],
        [5, 5],
        [2, 6],
      ],
    },
    ...shapes.map((s) => ({
      name: `${s.name} synthetic (${s.numLayers} × ${s.numHeads} heads, ${s.patchNums.reduce((a, p) => a + p * p, 0)} tokens${s.gridNums.some((g, i) => g !== s.patchNums[i]) ? `, stored ${s.gridNums.reduce((a, p) => a + p * p, 0)} cells` : ""})`,
      url: `${server.url}/bench-explorer/${s.name}/index.html`,
      numLayers: s.numLayers,
      numHeads: s.numHeads,
      grid: s.gridNums,
      images: s.images,
      classes: Array.from({ length: s.images }, (_, i) => i),
      heads: pick(s, 2 * reps),
    })),
  ];
  // matrix files the clicks will ask for, made before the timing (a static host has them on disk)
  for (const [si, s] of shapes.entries()) {
    const heads = targets[si + 1].heads;
    const t1 = performance.now();
    server.warm(s, [[0, 0, 0, 0], [1, 0, 0, 0], ...heads.flatMap(([l, h]) => [0, 1].map((i) => [i, 0, l, h] as [number, number, number, number]))]);
    log(`bench-explorer: ${s.name} matrices for the timed clicks made in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  }
  const browser = await launchChromium({ webgpu: false });
  try {
    for (const t of targets) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("response", (r) => void (r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`)));
      page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
      await page.addInitScript({ content: INSTRUMENT });
      const r = await measure(page, t, reps);
      await context.close();
      if (errors.length) throw new Error(`bench-explorer ${t.name}: page errors: ${errors.join("; ")}`);
      rows.push({
        bench: `explorer first paint: ${t.name}`,
        backend: "chromium",
        value: `${(r.firstPaintBytes / 2 ** 20).toFixed(2)} MiB`,
        detail: `${r.resources} requests; first render ${r.firstPaintMs.toFixed(0)} ms after navigation`,
        goal: "",
        ok: "",
      });
      for (const [k, v] of Object.entries(r.ms)) {
        const sorted = [...v].sort((a, b) => a - b);
        const max = sorted[sorted.length - 1];
        rows.push({
          bench: `explorer ${k}: ${t.name.split(" (")[0]}`,
          backend: "chromium",
          value: `${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms median`,
          detail: `max ${max.toFixed(1)} ms (${r.slowest[k].split}); n=${v.length}`,
          goal: `< ${INTERACTION_TARGET_MS} ms`,
          ok: max < INTERACTION_TARGET_MS ? "✓" : "✗",
        });
      }
      log(`bench-explorer: ${t.name} done`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  return rows;
}

if (import.meta.filename === process.argv[1]) {
  const { printTable } = await import("./bench-table.js");
  const a = process.argv.indexOf("--infinity-grid");
  printTable(await benchExplorer({ infinityGrid: a > 0 ? Number(process.argv[a + 1]) : undefined }));
}

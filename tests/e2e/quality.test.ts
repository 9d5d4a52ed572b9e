// E2e for the quality pages: the quality-vs-memory chart has a line and dots for every swept method (checked
// against the built sweep.parquet read in Node), reacts to the metric and budget inputs, shows the headline;
// the side-by-side page generates the full-cache and the compressed image in onnxruntime-web.
import { DuckDBInstance } from "@duckdb/node-api";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import type { PageLog } from "./browser.js";
import { builtFile } from "./paths.js";
import { expectClean, screenshot, useSite } from "./site-session.js";

let page: Page, log: PageLog;
const site = useSite();
beforeAll(() => void ({ page, log } = site));

async function sweepSql(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql.replaceAll("sweep", `read_parquet('${builtFile("data/sweep.parquet")}')`))).getRowObjectsJS() as Record<
      string,
      unknown
    >[];
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

describe("quality vs memory", () => {
  it("draws one line and one dot per feasible cell for every method, follows the inputs, shows the headline", async () => {
    const cells = await sweepSql("SELECT label, budget_ratio FROM sweep WHERE method <> 'full' AND NOT infeasible GROUP BY ALL ORDER BY label, budget_ratio");
    const labels = [...new Set(cells.map((c) => String(c.label)))];
    expect(labels.length).toBeGreaterThan(1);

    await page.goto(`${site.server.url}/quality`);
    const chart = page.locator("[data-testid=quality-chart]");
    await chart.waitFor({ timeout: 180_000 });
    expect(JSON.parse((await chart.getAttribute("data-methods"))!)).toEqual(labels);
    const lines = () => chart.locator("g[aria-label='line'] path").count();
    const dots = () => chart.locator("g[aria-label='dot'] > *").count(); // one marker (a symbol path) per cell
    expect(await lines()).toBe(labels.length);
    expect(await dots()).toBe(cells.length);
    // one colour per series
    const strokes = await chart.locator("g[aria-label='line'] path").evaluateAll((ps) => ps.map((p) => p.getAttribute("stroke")));
    expect(new Set(strokes).size).toBe(labels.length);
    // the first screen: the verdict sentence, both charts, the verdict matrix (one row per method setting)
    expect(await page.locator("[data-testid=verdict-sentence]").textContent()).toMatch(
      /^At 20 % the best baseline is .+ Paired on the same images \(paired t, 95 %\), the other settings at that budget are PSNR: \d+ better \/ \d+ equal \/ \d+ worse/,
    );
    await page.locator("[data-testid=quality-chart-fidelity]").waitFor();
    expect(await page.locator("[data-testid=quality-chart-fidelity]").textContent()).toContain("KL(full ‖ compressed), teacher-forced vs KV-cache memory");
    const matrix = page.locator("[data-testid=verdict-matrix]");
    expect(Number(await matrix.getAttribute("data-rows"))).toBe(labels.length);
    expect(await matrix.locator("[data-verdict]").count()).toBeGreaterThan(0);
    expect(await chart.locator("g[aria-label='area'] path").count()).toBe(labels.length); // the 95 % bands
    expect(await chart.textContent()).toContain("PSNR vs KV-cache memory");

    // another metric: new title, same marks
    await page.locator("form").filter({ hasText: "metric" }).first().locator("select").selectOption({ label: "SSIM" });
    await expect
      .poll(async () => (await page.locator("[data-testid=quality-chart]").textContent()) ?? "", { timeout: 30_000 })
      .toContain("SSIM vs KV-cache memory");
    expect(await page.locator("[data-testid=quality-chart] g[aria-label='line'] path").count()).toBe(labels.length);

    // budget range filter: only budgets ≤ 20 %
    const upTo = page.locator("form").filter({ hasText: "budgets up to" }).locator("input[type=number]");
    await upTo.fill("20");
    await upTo.dispatchEvent("input");
    const small = cells.filter((c) => Number(c.budget_ratio) <= 0.2 + 1e-9).length;
    await expect.poll(() => page.locator("[data-testid=quality-chart] g[aria-label='dot'] > *").count(), { timeout: 30_000 }).toBe(small);

    // the table lists every cell of the filtered view (+ the full cache), the headline tables exist
    await expect.poll(() => page.locator("[data-testid=headline-psnr_db] table tbody tr").count(), { timeout: 60_000 }).toBe(labels.length);
    expect(await page.locator("[data-testid=headline-feature_distance] table tbody tr").count()).toBe(labels.length);
    for (const m of ["psnr_db", "feature_distance", "tf_kl"])
      expect(await page.locator(`[data-testid=paired-headline-${m}] tbody tr`).count(), m).toBe(labels.length);
    expect(Number(await page.locator("[data-testid=quality-infeasible]").getAttribute("data-rows"))).toBeGreaterThan(0);
    await screenshot(page, "quality");
    expectClean(log);
  });
});

describe("side by side", () => {
  it("generates the full-cache and the compressed image in the browser", async () => {
    await page.goto(`${site.server.url}/compare`);
    const images = page.locator("[data-testid=compare-images]");
    await expect.poll(() => images.locator("canvas").count(), { timeout: 240_000, interval: 1000 }).toBe(2);
    expect(await images.getAttribute("data-backend")).toMatch(/onnxruntime-web \((wasm|webgpu)\)/);
    const full = Number(await page.locator("[data-testid=compare-full]").getAttribute("data-peak-bytes"));
    const compressed = Number(await page.locator("[data-testid=compare-compressed]").getAttribute("data-peak-bytes"));
    expect(full).toBeGreaterThan(0);
    expect(compressed).toBeGreaterThan(0);
    expect(compressed).toBeLessThan(full);
    expect(await page.locator("[data-testid=compare-compressed]").textContent()).toContain("✓"); // measured = predicted
    const canvas = images.locator("canvas").first();
    expect(await canvas.getAttribute("data-dims")).toMatch(/^1x3x\d+x\d+$/);
    expect(await page.locator("figure, svg").filter({ hasText: "Token agreement per scale" }).locator("g[aria-label='bar'] rect").count()).toBeGreaterThan(1);
    // the page also shows the Node sweep's numbers for the same cell (class 0, seed 101, heatkv @ 20 % is in the sweep)
    await expect.poll(() => page.locator("[data-testid=compare-node-check]").count(), { timeout: 60_000 }).toBe(1);
    expect(await page.locator("[data-testid=compare-node-check]").textContent()).toContain("Node sweep, same cell");
    await screenshot(page, "compare");
    expectClean(log);
  });

  it("runs a low-rank schedule (heatkv+recalkv) with its ReCalKV step graph in the browser, bytes as predicted", async () => {
    const methodSelect = page
      .locator("form")
      .filter({ has: page.locator("label", { hasText: /^method$/ }) })
      .locator("select");
    const before = await page.locator("[data-testid=compare-compressed]").getAttribute("data-peak-bytes");
    await methodSelect.selectOption("heatkv+recalkv");
    const budgetInput = page.locator("form").filter({ hasText: "budget" }).locator("input[type=number]");
    await budgetInput.fill("20");
    await budgetInput.press("Enter");
    const compressed = page.locator("[data-testid=compare-compressed]");
    await expect
      .poll(async () => (await compressed.getAttribute("data-peak-bytes")) !== before && (await compressed.count()) === 1, { timeout: 240_000, interval: 1000 })
      .toBe(true);
    // the schedule's own prediction: heatkv+recalkv @ 20 % on the demo model peaks at 222,208 B (σ = 3 sink scales exact + latents + indices;
    // `heatkv schedule --method heatkv+recalkv --budget 20%` then `heatkv generate --schedule` measures the same)
    await expect.poll(() => compressed.getAttribute("data-peak-bytes"), { timeout: 240_000, interval: 1000 }).toBe("222208");
    expect(await compressed.textContent()).toContain("✓"); // measured = predicted
    expect(await page.locator("[data-testid=compare-error]").count()).toBe(0);
    await screenshot(page, "compare-lowrank");
    expectClean(log);
  });
});

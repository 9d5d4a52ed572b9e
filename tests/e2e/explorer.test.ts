// E2e for the calibration pages: the heatmap explorer renders one cell per (layer, head), reacts to the
// inputs and to a click on a head; the calibration page draws the stability charts. Data: the built
// attention.parquet (the calibration job's output), checked against Node-side DuckDB.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import type { PageLog } from "./browser.js";
import { builtFile, ROOT } from "./paths.js";
import { expectClean, screenshot, useSite } from "./site-session.js";

const config = JSON.parse(readFileSync(join(ROOT, "data", "model", "config.json"), "utf8")) as {
  num_layers: number;
  num_heads: number;
  patch_nums: number[];
  classes: string[];
};
const L = config.num_layers,
  H = config.num_heads,
  K = config.patch_nums.length;

let page: Page, log: PageLog;
const site = useSite();
beforeAll(() => void ({ page, log } = site));

const heatmapCellsText = () => page.locator(".heatkv-heatmap svg g[aria-label='text'] text").allTextContents();

describe("head heatmap explorer", () => {
  it("renders one cell per (layer, head) with the Parquet's values, and reacts to inputs and clicks", async () => {
    await page.goto(`${site.server.url}/heatmaps`);
    const heatmap = page.locator(".heatkv-heatmap");
    await heatmap.waitFor({ timeout: 120_000 });
    expect(await heatmap.getAttribute("data-cells")).toBe(String(L * H));
    expect(await page.locator(".heatkv-heatmap svg g[aria-label='cell']").first().locator("rect").count()).toBe(L * H);
    expect(await page.locator(".heatkv-heatmap").textContent()).toContain("attention mass (mean over queries, 0–1)");

    // the value shown for (layer 0, head 0), source 0, every later target, cond, all classes = Node-side SQL
    const db = await DuckDBInstance.create(":memory:");
    const c = await db.connect();
    const [[expected]] = (
      await c.runAndReadAll(
        `SELECT avg(mass) FROM read_parquet('${builtFile("data/attention.parquet")}') WHERE branch='cond' AND source_scale=0 AND target_scale>0 AND layer=0 AND head=0`,
      )
    ).getRows();
    c.closeSync();
    db.closeSync();
    const before = await heatmapCellsText();
    expect(before[0]).toBe(Number(expected).toFixed(2));

    // change the source scale: new cells
    await page.locator("form").filter({ hasText: "source scale" }).locator("select").selectOption({ index: 2 });
    await expect.poll(async () => (await heatmapCellsText()).join(), { timeout: 30_000 }).not.toBe(before.join());
    await expect.poll(() => page.locator(".heatkv-heatmap").textContent()).toContain("source scale 2");

    // click (layer 2, head 3) → the matrix and the rank follow
    const rect = page
      .locator(".heatkv-heatmap svg g[aria-label='cell']")
      .first()
      .locator("rect")
      .nth(2 * H + 3);
    // Plot's pointer picks the cell under the mouse, the click locks it (force: the tip overlay moves)
    const box = (await rect.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.locator("figure h2, svg").filter({ hasText: "Layer 2, head 3" }).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByText("Head L2·H3 ranks").count()).toBe(1);
    // the locked head is outlined, and only it
    expect(await rect.getAttribute("stroke")).toBe("#ff2d55");
    const cellRects = page.locator(".heatkv-heatmap svg g[aria-label='cell']").first().locator("rect");
    expect(await cellRects.evaluateAll((rs) => rs.filter((r) => r.getAttribute("stroke") === "#ff2d55").length)).toBe(1);
    // the lock survives filter changes (it used to fall back to L0·H0): source scale, branch, class
    await page.locator("form").filter({ hasText: "source scale" }).locator("select").selectOption({ index: 3 });
    await expect.poll(() => page.locator(".heatkv-heatmap").textContent(), { timeout: 30_000 }).toContain("source scale 3");
    await page.locator("form").filter({ hasText: "CFG branch" }).locator("input[value=uncond], label:has-text('uncond') input").first().check();
    await page.locator("form").filter({ hasText: "class" }).locator("select").last().selectOption({ index: 2 });
    await expect.poll(() => page.getByText("Head L2·H3 ranks").count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator("figure h2, svg").filter({ hasText: "Layer 2, head 3" }).count()).toBeGreaterThan(0);
    // the scale × scale matrix has one cell per (t, s ≤ t)
    const matrix = page.locator("figure, svg").filter({ hasText: "scale × scale" }).last();
    expect(await matrix.locator("g[aria-label='cell'] rect").count()).toBe((K * (K + 1)) / 2);
    await screenshot(page, "heatmaps");
    expectClean(log);
  });
});

describe("calibration page", () => {
  it("draws rank stability vs prompts and per held-out class", async () => {
    await page.goto(`${site.server.url}/calibration`);
    const growth = page.locator("figure, svg").filter({ hasText: "calibration set grows" }).last();
    await growth.waitFor({ timeout: 120_000 });
    const db = await DuckDBInstance.create(":memory:");
    const c = await db.connect();
    const [[growthRows, heldRows]] = (
      await c.runAndReadAll(
        `SELECT count(*) FILTER (WHERE kind='growth'), count(*) FILTER (WHERE kind='heldout_class') FROM read_parquet('${builtFile("data/stability.parquet")}')`,
      )
    ).getRows();
    c.closeSync();
    db.closeSync();
    expect(await growth.locator("g[aria-label='dot'] circle").count()).toBe(Number(growthRows));
    const held = page.locator("figure, svg").filter({ hasText: "unseen class" }).last();
    expect(await held.locator("g[aria-label='dot'] circle").count()).toBe(Number(heldRows));
    expect(Number(heldRows)).toBe(config.classes.length * (K - 1 - 3));
    await screenshot(page, "calibration");
    expectClean(log);
  });
});

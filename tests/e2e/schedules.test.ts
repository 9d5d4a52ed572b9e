// E2e for the schedule builder: keep matrix per (target scale, layer·head), reacts to the budget, says
// when heatkv is infeasible, and the downloaded JSON re-imports and runs in the Node runtime.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { loadNodeModel } from "../../node/node-backend.js";
import { parseScheduleJson, predictedBytes } from "../../src/lib/schedules/index.js";
import { scheduleToPolicy } from "../../src/lib/enforce/index.js";
import type { PageLog } from "./browser.js";
import { ROOT } from "./paths.js";
import { expectClean, screenshot, useSite } from "./site-session.js";

const config = JSON.parse(readFileSync(join(ROOT, "data", "model", "config.json"), "utf8")) as {
  num_layers: number;
  num_heads: number;
  head_dim: number;
  patch_nums: number[];
};
const N = config.num_layers * config.num_heads,
  K = config.patch_nums.length;

let page: Page, log: PageLog;
const site = useSite();
beforeAll(() => void ({ page, log } = site));

describe("schedule builder", () => {
  it("draws the keep matrices, recomputes on the budget, flags infeasible heatkv budgets", async () => {
    await page.goto(`${site.server.url}/schedules`);
    const matrix = page.locator("[data-cells]").first();
    await matrix.waitFor({ timeout: 120_000 });
    expect(await matrix.getAttribute("data-cells")).toBe(String((K - 1) * N));
    const recompute = page.locator("[data-testid=recompute]");
    await expect.poll(() => recompute.textContent(), { timeout: 30_000 }).toMatch(/Recomputed in [\d.]+ ms \(heatkv\)/);
    const ms = Number(/in ([\d.]+) ms/.exec((await recompute.textContent()) ?? "")?.[1]);
    expect(ms).toBeLessThan(50);
    const budgetInput = page.locator("form").filter({ hasText: "budget" }).locator("input[type=number]");
    await budgetInput.fill("10");
    await budgetInput.press("Enter");
    await expect
      .poll(() => page.locator("[data-testid=schedule-error]").first().textContent(), { timeout: 30_000 })
      .toMatch(/infeasible for heatkv.*minimum feasible budget/);
    // no stale result: the 30 % schedule's download is gone; only the feasible method B (scalekv at 10 %) offers one
    const downloads = () => page.locator("a.heatkv-download").evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).download));
    await expect.poll(downloads, { timeout: 30_000 }).toEqual(["schedule-scalekv-10pct.json"]);
    await budgetInput.fill("30");
    await budgetInput.press("Enter");
    await expect.poll(() => page.locator("[data-testid=schedule-error]").count(), { timeout: 30_000 }).toBe(0);
    await expect.poll(downloads, { timeout: 30_000 }).toEqual(["schedule-heatkv-30pct.json", "schedule-scalekv-30pct.json"]);
    await screenshot(page, "schedules");
    expectClean(log);
  });

  it("the downloaded schedule JSON re-imports and runs with the predicted bytes", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("a.heatkv-download").first().click()]);
    const text = readFileSync((await download.path())!, "utf8");
    const model = await loadNodeModel();
    const schedule = parseScheduleJson(text, model.config, download.suggestedFilename());
    expect(schedule.method).toBe("heatkv");
    expect(schedule.budget.ratio).toBeCloseTo(0.3, 10);
    const r = await model.generate({ classIndex: 0, seed: 7, policy: scheduleToPolicy(schedule, model.config) });
    expect(r.scales.map((s) => s.cacheBytes)).toEqual(predictedBytes(schedule).perScale);
    expect(r.peakCacheBytes).toBeLessThanOrEqual(0.3 * 2 * N * config.patch_nums.slice(0, -1).reduce((a, p) => a + p * p, 0) * config.head_dim * 4 * 2);
  });

  it("low rank: heatkv+recalkv at 20 % (σ = 3 sink scales exact) shows its widths and bytes per scale; the JSON runs its variant with the predicted bytes", async () => {
    const methodSelect = page
      .locator("form")
      .filter({ has: page.locator("label", { hasText: /^method$/ }) })
      .locator("select");
    await methodSelect.selectOption("heatkv+recalkv");
    const budgetInput = page.locator("form").filter({ hasText: "budget" }).locator("input[type=number]");
    await budgetInput.fill("20");
    await budgetInput.press("Enter");
    await expect.poll(() => page.locator("[data-testid=recompute]").textContent(), { timeout: 30_000 }).toMatch(/ms \(heatkv\+recalkv\)/);
    await expect.poll(() => page.locator("[data-testid=schedule-error]").count(), { timeout: 30_000 }).toBe(0);
    const table = page.locator("table[data-testid=bytes-table]").first();
    await table.waitFor({ timeout: 30_000 });
    expect(await table.textContent()).toMatch(/ReCalKV r50: scales < 3 exact, latents \+ indices/);
    expect(await page.locator("[data-cells]").first().textContent()).toMatch(
      /low rank \(ReCalKV r50\): key latent 16 per group of 2 heads \(full 32\), value latent 8 per head \(full 16\)/,
    );
    await screenshot(page, "schedules-lowrank");
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("a.heatkv-download").first().click()]);
    const text = readFileSync((await download.path())!, "utf8");
    const model = await loadNodeModel();
    const schedule = parseScheduleJson(text, model.config, download.suggestedFilename());
    expect(schedule.method).toBe("heatkv+recalkv");
    expect(schedule.lowRank?.variant).toBe("r50");
    const r = await (await model.lowRank("r50")).generate({ classIndex: 0, seed: 7, policy: scheduleToPolicy(schedule, model.config) });
    expect(r.scales.map((s) => s.cacheBytes)).toEqual(predictedBytes(schedule).perScale);
    expect(r.peakCacheBytes).toBeLessThanOrEqual(0.2 * 2 * N * config.patch_nums.slice(0, -1).reduce((a, p) => a + p * p, 0) * config.head_dim * 4 * 2);
    expectClean(log);
  });
});

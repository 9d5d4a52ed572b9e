// E2e for the head explorer (/explorer): a click on the overview locks a head and redraws the detail, a
// shift-click combines heads, a click on a patch of the finest scale draws overlays on every earlier scale
// (the row's overlays sum to 1 up to the 8-bit storage), the reverse direction, the schedule comparison,
// PNG/SVG export, and the URL state round trip.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import type { PageLog } from "./browser.js";
import { ROOT, SCREENSHOTS } from "./paths.js";
import { expectClean, screenshot, useSite } from "./site-session.js";

const config = JSON.parse(readFileSync(join(ROOT, "data", "model", "config.json"), "utf8")) as { num_layers: number; num_heads: number; patch_nums: number[] };
const L = config.num_layers,
  H = config.num_heads,
  K = config.patch_nums.length;

let page: Page, log: PageLog;
const site = useSite();
beforeAll(() => void ({ page, log } = site));

const rendered = () => page.locator(".heatkv-explorer").getAttribute("data-rendered");
const waitRender = async (before: string | null) => expect.poll(rendered, { timeout: 30_000 }).not.toBe(before);
const state = () => page.evaluate(() => (document.querySelector(".heatkv-explorer") as unknown as { state: Record<string, unknown> }).state);

async function clickHead(layer: number, head: number, shift = false) {
  await page.getByTestId("hx-overview").scrollIntoViewIfNeeded();
  const box = (await page.getByTestId("hx-overview").boundingBox())!;
  const cell = box.width / H;
  const before = await rendered();
  if (shift) await page.keyboard.down("Shift");
  await page.mouse.click(box.x + (head + 0.5) * cell, box.y + (layer + 0.5) * cell);
  if (shift) await page.keyboard.up("Shift");
  await waitRender(before);
}

describe("head explorer", () => {
  it("locks, combines, links patches to every earlier scale, compares with a schedule, exports, and round-trips the URL", async () => {
    await page.goto(`${site.server.url}/explorer`);
    await page.locator(".heatkv-explorer[data-rendered]").waitFor({ timeout: 120_000 });
    expect(await page.locator(".heatkv-explorer").getAttribute("data-cells")).toBe(String(L * H));
    // never one DOM element per cell: canvases only (overview, detail, compare, K pyramid levels)
    expect(await page.locator(".heatkv-explorer canvas").count()).toBe(3 + K);
    expect(await page.getByTestId("hx-detail-title").textContent()).toContain("L0·H0");
    const sum0 = await page.getByTestId("hx-detail").getAttribute("data-checksum");

    // click (layer 2, head 3): locked, detail redrawn for it, URL updated
    await clickHead(2, 3);
    expect(await page.getByTestId("hx-detail-title").textContent()).toMatch(/^L2·H3 ·/);
    expect(page.url()).toContain("l=2");
    expect(page.url()).toContain("h=3");
    expect(await page.getByTestId("hx-detail").getAttribute("data-checksum")).not.toBe(sum0);
    expect(await page.getByTestId("hx-info").textContent()).toMatch(/(drafter|refiner) \(ScaleKV\) · (structural|contextual) \(HACK\)/);

    // colour controls: linear / global / sink masking change the legend and the drawn pixels
    const legend = () => page.getByTestId("hx-legend").textContent();
    expect(await legend()).toContain("1e-4");
    for (const [id, value, text] of [
      ["hx-color", "linear", "attention probability"],
      ["hx-norm", "global", "global 0–1"],
      ["hx-sink", "mask", "hatched = sink scales 0–2 masked"],
    ] as const) {
      const sum = await page.getByTestId("hx-detail").getAttribute("data-checksum");
      const b = await rendered();
      await page.getByTestId(id).selectOption(value);
      await waitRender(b);
      expect(await legend()).toContain(text);
      if (id === "hx-sink") expect(await page.getByTestId("hx-detail").getAttribute("data-checksum")).not.toBe(sum); // masked cells leave the pooled values
    }
    expect(await legend()).not.toContain("1e-4");
    expect(page.url()).toMatch(/norm=global.*color=linear.*sink=1/);
    for (const [id, value] of [
      ["hx-color", "log"],
      ["hx-norm", "head"],
      ["hx-sink", "show"],
    ] as const) {
      const b = await rendered();
      await page.getByTestId(id).selectOption(value);
      await waitRender(b);
    }

    // hover preview
    const box = (await page.getByTestId("hx-overview").boundingBox())!;
    await page.mouse.move(box.x + 1.5 * (box.width / H), box.y + 0.5 * (box.width / H));
    await expect.poll(() => page.getByTestId("hx-tip").textContent()).toContain("L0·H1");
    expect(await page.getByTestId("hx-tip").locator("canvas").count()).toBe(1); // the enlarged scale × scale preview

    // shift-click (layer 0, head 1): combined with the locked one
    await clickHead(0, 1, true);
    expect(await page.getByTestId("hx-detail-title").textContent()).toContain("mean of L2·H3, L0·H1");
    expect(page.url()).toContain("with=1");
    await clickHead(2, 3); // plain click: back to one head
    expect(await page.getByTestId("hx-detail-title").textContent()).toMatch(/^L2·H3 ·/);

    // click a patch of the finest scale: overlays on every scale up to it, summing to the row's total (1)
    const fine = page.getByTestId(`hx-scale-${K - 1}`);
    await fine.scrollIntoViewIfNeeded();
    const fb = (await fine.boundingBox())!;
    const g = config.patch_nums[K - 1];
    let before = await rendered();
    await page.mouse.click(fb.x + (5.5 / g) * fb.width, fb.y + (3.5 / g) * fb.height);
    await waitRender(before);
    expect(await page.getByTestId("hx-pyramid").getAttribute("data-overlays")).toBe(String(K));
    let total = 0;
    for (let s = 0; s < K; s++) {
      expect(await page.getByTestId(`hx-scale-${s}`).getAttribute("data-overlay")).toBe("1");
      total += Number(await page.getByTestId(`hx-scale-${s}`).getAttribute("data-sum"));
    }
    expect(total).toBeGreaterThan(0.95);
    expect(total).toBeLessThan(1.05);
    expect(await page.getByTestId("hx-pyramid-info").textContent()).toContain(`(row 3, col 5) of scale ${K - 1}`);
    const st = await state();
    expect(st.patch).toBe(config.patch_nums.slice(0, K - 1).reduce((a, p) => a + p * p, 0) + 3 * g + 5);
    expect(st.scale).toBe(K - 1);
    await screenshot(page, "explorer-patch");

    // a patch of scale 2 → overlays on scales 0..2 only
    const mid = page.getByTestId("hx-scale-2");
    await mid.scrollIntoViewIfNeeded();
    const mb = (await mid.boundingBox())!;
    before = await rendered();
    await page.mouse.click(mb.x + mb.width * 0.5, mb.y + mb.height * 0.5);
    await waitRender(before);
    expect(await page.getByTestId("hx-pyramid").getAttribute("data-overlays")).toBe("3");
    expect(await page.getByTestId(`hx-scale-3`).getAttribute("data-overlay")).toBe("0");
    // reverse: who attends to this patch → the scales from 2 up
    before = await rendered();
    await page.getByTestId("hx-dir").selectOption("receives");
    await waitRender(before);
    expect(await page.getByTestId("hx-pyramid").getAttribute("data-overlays")).toBe(String(K - 2));
    expect(await page.getByTestId(`hx-scale-1`).getAttribute("data-overlay")).toBe("0");

    // compare with another head: a second matrix, exportable
    before = await rendered();
    await page.getByTestId("hx-cmp").selectOption("head");
    await waitRender(before);
    before = await rendered();
    await page.getByTestId("hx-cmp-head").selectOption(String(4 * H + 6));
    await waitRender(before);
    expect(await page.getByTestId("hx-compare-title").textContent()).toContain("compare: L4·H6 · Smileys & Emotion · seed 1 · cond");
    expect(await page.getByTestId("hx-compare").getAttribute("data-checksum")).not.toBe(await page.getByTestId("hx-detail").getAttribute("data-checksum"));
    // (screenshot before the download: headless chromium's first full-page capture after one can be blank)
    await screenshot(page, "explorer-compare");
    const cmpDownload = page.waitForEvent("download");
    await page.getByTestId("hx-export-compare-png").click();
    expect((await cmpDownload).suggestedFilename()).toBe("heatkv-compare-L2H3-img0-cond.png");

    // compare with the HeatKV schedule: dropped blocks greyed, kept mass stated
    before = await rendered();
    await page.getByTestId("hx-cmp").selectOption("schedule");
    await waitRender(before);
    await page.getByTestId("hx-scale").selectOption("-1");
    await expect
      .poll(() => page.getByTestId("hx-schedule-note").textContent(), { timeout: 30_000 })
      .toMatch(/heatkv at 30 %.*keeps \d+\.\d % of this head's attention mass/);
    const kept = Number((await page.getByTestId("hx-schedule-note").textContent())!.match(/keeps (\d+\.\d) %/)![1]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(100);
    before = await rendered();
    await page.getByTestId("hx-budget").selectOption("10");
    await waitRender(before);
    // σ = 3 sink scales hold 15.4 % of the cache: 10 % is infeasible for heatkv, and the page says why
    expect(await page.locator(".heatkv-explorer .heatkv-error").textContent()).toMatch(/⚠ .*infeasible for heatkv.*minimum feasible budget is 15\.39%/);
    before = await rendered();
    await page.getByTestId("hx-budget").selectOption("20");
    await waitRender(before);
    await expect
      .poll(async () => Number((await page.getByTestId("hx-schedule-note").textContent())!.match(/keeps (\d+\.\d) %/)?.[1] ?? NaN))
      .toBeLessThanOrEqual(kept);
    await screenshot(page, "explorer-schedule");

    // exports
    for (const [view, fmt] of [
      ["detail", "png"],
      ["detail", "svg"],
      ["overview", "png"],
      ["pyramid", "svg"],
    ] as const) {
      const download = page.waitForEvent("download");
      await page.getByTestId(`hx-export-${view}-${fmt}`).click();
      const d = await download;
      expect(d.suggestedFilename()).toMatch(new RegExp(`^heatkv-${view}-L2H3-img0-cond\\.${fmt}$`));
      const last = await page.locator(".heatkv-explorer").getAttribute("data-last-export");
      expect(last).toMatch(new RegExp(`^${view}\\.${fmt}:\\d+$`));
      expect(Number(last!.split(":")[1])).toBeGreaterThan(1000);
      const body = readFileSync((await d.path())!);
      if (fmt === "png") expect(body.subarray(1, 4).toString()).toBe("PNG");
      else {
        const text = body.toString("utf8");
        expect(text).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
        expect(text).toContain('<image x="0" y="20"');
        expect(text).toContain('href="data:image/png;base64,');
        if (view === "detail") {
          expect(text).toContain("attention probability A[q, k]"); // the vector legend
          expect(text).not.toMatch(/ns\d+:href/); // plain SVG 2 href: renders inline in HTML too
          writeFileSync(join(SCREENSHOTS, "explorer-export-detail.svg"), text);
          const viewer = await page.context().newPage();
          await viewer.setContent(`<body style="margin:0">${text}</body>`);
          await screenshot(viewer, "explorer-export-detail-svg");
          await viewer.close();
        }
      }
    }

    // URL round trip: the same state from the URL alone, in a fresh page
    const url = page.url();
    const s1 = await state();
    const other = await page.context().newPage();
    await other.goto(url);
    await other.locator(".heatkv-explorer[data-rendered]").waitFor({ timeout: 120_000 });
    const s2 = await other.evaluate(() => (document.querySelector(".heatkv-explorer") as unknown as { state: Record<string, unknown> }).state);
    expect(s2).toEqual(s1);
    expect(await other.getByTestId("hx-detail-title").textContent()).toBe(await page.getByTestId("hx-detail-title").textContent());
    await other.close();
    expectClean(log);
  });

  it("sorts the overview by a metric and switches image and branch", async () => {
    await page.goto(`${site.server.url}/explorer?metric=sinkMass&sort=1&img=3&br=uncond`);
    await page.locator(".heatkv-explorer[data-rendered]").waitFor({ timeout: 120_000 });
    // image 3 = class index 3, seed 2 (classes 0, 3, 6 × seeds 1, 2)
    expect(await page.getByTestId("hx-class").inputValue()).toBe("3");
    expect(await page.getByTestId("hx-seed").inputValue()).toBe("2");
    expect(await page.getByTestId("hx-branch").inputValue()).toBe("uncond");
    expect(await page.locator(".hx-caption").first().textContent()).toContain("sorted by sink-scale mass");
    // the first cell of the sorted grid is the head with the highest sink mass: hover it
    const box = (await page.getByTestId("hx-overview").boundingBox())!;
    await page.mouse.move(box.x + 0.5 * (box.width / H), box.y + 0.5 * (box.width / H));
    await expect.poll(() => page.getByTestId("hx-tip").textContent()).toMatch(/sink-scale mass \(scales 0–2\): \d/);
    const tip = (await page.getByTestId("hx-tip").textContent())!;
    const top = Number(tip.match(/sink-scale mass \(scales 0–2\): ([\d.]+)/)![1]);
    await page.mouse.move(box.x + 1.5 * (box.width / H), box.y + 0.5 * (box.width / H));
    await expect.poll(() => page.getByTestId("hx-tip").textContent()).not.toBe(tip);
    const second = Number((await page.getByTestId("hx-tip").textContent())!.match(/sink-scale mass \(scales 0–2\): ([\d.]+)/)![1]);
    expect(top).toBeGreaterThanOrEqual(second);
    await screenshot(page, "explorer-sorted");

    // the "done when" walk: lock the top sink head, click a patch of the finest scale, compare with heatkv 30 %
    const topHead = tip.match(/^(L\d+·H\d+)/)![1];
    let before = await rendered();
    await page.mouse.click(box.x + 0.5 * (box.width / H), box.y + 0.5 * (box.width / H));
    await waitRender(before);
    expect(await page.getByTestId("hx-detail-title").textContent()).toMatch(new RegExp(`^${topHead} ·`));
    const fine = page.getByTestId(`hx-scale-${K - 1}`);
    await fine.scrollIntoViewIfNeeded();
    const fb = (await fine.boundingBox())!;
    before = await rendered();
    await page.mouse.click(fb.x + fb.width * 0.55, fb.y + fb.height * 0.45);
    await waitRender(before);
    expect(await page.getByTestId("hx-pyramid").getAttribute("data-overlays")).toBe(String(K));
    before = await rendered();
    await page.getByTestId("hx-cmp").selectOption("schedule");
    await waitRender(before);
    await expect.poll(() => page.getByTestId("hx-schedule-note").textContent()).toContain(`drops for ${topHead}`);
    await screenshot(page, "explorer-done-when");
    // masking the sink scales changes the drawing, not what the schedule keeps
    const keptPct = async () => Number((await page.getByTestId("hx-schedule-note").textContent())!.match(/keeps ([\d.]+) %/)![1]);
    const kept = await keptPct();
    for (const v of ["mask", "show"]) {
      before = await rendered();
      await page.getByTestId("hx-sink").selectOption(v);
      await waitRender(before);
      expect(await keptPct()).toBe(kept);
    }
    // class picker keeps the seed; seed picker switches within the class
    before = await rendered();
    await page.getByTestId("hx-class").selectOption("6");
    await waitRender(before);
    expect((await state()).image).toBe(5);
    before = await rendered();
    await page.getByTestId("hx-seed").selectOption("1");
    await waitRender(before);
    expect((await state()).image).toBe(4);
    expect(page.url()).toContain("img=4");
    expectClean(log);
  });

  it("the report's coarse-head links open the explorer on that head, compared with HeatKV's schedule", async () => {
    await page.goto(`${site.server.url}/report`);
    const links = page.locator('a[href^="./explorer?"]');
    await expect.poll(() => links.count(), { timeout: 60_000 }).toBeGreaterThan(0);
    const label = (await links.first().textContent())!.trim();
    expect(label).toMatch(/^L\d+·H\d+$/);
    await links.first().click();
    await page.locator(".heatkv-explorer[data-rendered]").waitFor({ timeout: 120_000 });
    expect(await page.getByTestId("hx-detail-title").textContent()).toMatch(new RegExp(`^${label} ·`));
    await expect.poll(() => page.getByTestId("hx-schedule-note").textContent()).toContain(`drops for ${label}`);
    expectClean(log);
  });
});

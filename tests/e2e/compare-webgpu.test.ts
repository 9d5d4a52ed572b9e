// /compare with a WebGPU adapter (SwiftShader in headless chromium): under the page's default "auto" the
// step graph passes its fixture self-check, so the page runs on WebGPU and says so (docs/webgpu.md); a
// low-rank schedule runs its ReCalKV variant there too (self-checked on first use); no console errors on
// /compare nor on any other page of the site with the adapter present (/system: tests/e2e/site.test.ts).
import { describe, expect, it } from "vitest";
import { expectClean, screenshot, useSite } from "./site-session.js";

const site = useSite({ webgpu: true });

describe("side by side on WebGPU", () => {
  it("runs on WebGPU under auto, says so, and logs no console error", async () => {
    const { page, log } = site;
    await page.goto(`${site.server.url}/compare`);
    const backend = page.locator("[data-testid=compare-backend]");
    await backend.waitFor({ timeout: 540_000 });
    const text = (await backend.textContent()) ?? "";
    expect(text).toMatch(/Running on onnxruntime-web \(webgpu\)/);
    expect(text).not.toMatch(/fell back|failed/);
    expect(text).toMatch(/swiftshader.*software adapter on the CPU/i);
    const images = page.locator("[data-testid=compare-images]");
    await expect.poll(() => images.locator("canvas").count(), { timeout: 540_000, interval: 1000 }).toBe(2);
    expect(await images.getAttribute("data-backend")).toBe("onnxruntime-web (webgpu)");
    expect(await page.locator("[data-testid=compare-compressed]").textContent()).toContain("✓"); // measured = predicted
    await screenshot(page, "compare-webgpu");
    expectClean(log);
  }, 900_000);

  it("runs a low-rank schedule (heatkv+recalkv) on WebGPU after its variant's self-check", async () => {
    const { page, log } = site;
    const methodSelect = page
      .locator("form")
      .filter({ has: page.locator("label", { hasText: /^method$/ }) })
      .locator("select");
    await methodSelect.selectOption("heatkv+recalkv");
    const compressed = page.locator("[data-testid=compare-compressed]");
    // the same schedule prediction as on wasm (tests/e2e/quality.test.ts): heatkv+recalkv @ 20 % peaks at 222,208 B
    await expect.poll(() => compressed.getAttribute("data-peak-bytes"), { timeout: 540_000, interval: 1000 }).toBe("222208");
    expect(await compressed.textContent()).toContain("✓");
    expect(await page.locator("[data-testid=compare-error]").count()).toBe(0);
    expect(await page.locator("[data-testid=compare-images]").getAttribute("data-backend")).toBe("onnxruntime-web (webgpu)");
    expectClean(log);
  }, 900_000);

  it.each(["/", "/heatmaps", "/explorer", "/calibration", "/schedules", "/quality", "/report"])(
    "%s logs no console error with a WebGPU adapter present",
    async (path) => {
      const { page, log } = site;
      await page.goto(`${site.server.url}${path}`, { waitUntil: "networkidle", timeout: 240_000 });
      await expect.poll(() => page.locator("h1").count(), { timeout: 60_000 }).toBeGreaterThan(0);
      expectClean(log);
    },
    300_000,
  );
});

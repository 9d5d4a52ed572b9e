// Shared e2e plumbing: serve dist/ on 127.0.0.1, one chromium page with every request recorded, the
// "nothing left 127.0.0.1, no errors" check, and full-page screenshots into tests/e2e/screenshots/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { launchChromium, recordedContext, type PageLog } from "./browser.js";
import { DIST, SCREENSHOTS } from "./paths.js";
import { serveStatic, type StaticServer } from "../../node/static-server.js";

export function expectClean(log: PageLog): void {
  expect(log.external, "requests to hosts other than 127.0.0.1").toEqual([]);
  expect(log.httpErrors, "HTTP errors / failed requests").toEqual([]);
  expect(log.errors, "console errors").toEqual([]);
  for (const url of log.requests) expect(url).toMatch(/^(http:\/\/127\.0\.0\.1:\d+\/|data:|blob:)/);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface SiteSession {
  server: StaticServer;
  browser: Browser;
  page: Page;
  log: PageLog;
}

/** Registers beforeAll/afterAll for a file: the built site served locally and one recorded chromium page. */
export function useSite({ webgpu = false }: { webgpu?: boolean } = {}): SiteSession {
  const session = {} as SiteSession;
  beforeAll(async () => {
    session.server = await serveStatic(DIST);
    session.browser = await launchChromium({ webgpu });
    Object.assign(session, await recordedContext(session.browser, session.server.url));
  });
  afterAll(async () => {
    await session.browser?.close();
    await session.server?.close();
  });
  return session;
}

// Headless Debian chromium via playwright-core, with every request recorded and anything that is not the
// local server aborted (and reported): the e2e tests assert that nothing tried to leave 127.0.0.1.
import type { Browser, BrowserContext, Page } from "playwright-core";

export { CHROMIUM, CHROMIUM_FLAGS, launchChromium } from "../../node/chromium.js";

export interface PageLog {
  /** Every request URL (pages, scripts, workers, wasm, data files). */
  requests: string[];
  /** Requests to any other host than the local server (aborted). */
  external: string[];
  /** Responses with status ≥ 400, and failed requests. */
  httpErrors: string[];
  /** console.error messages and uncaught page errors. */
  errors: string[];
  warnings: string[];
}

/** Is this URL served by the local server? data: and blob: URLs never touch the network. */
export function isLocal(url: string, base: string): boolean {
  if (url.startsWith("data:") || url.startsWith("blob:")) return true;
  const u = new URL(url),
    b = new URL(base);
  return u.hostname === "127.0.0.1" && u.host === b.host && (u.protocol === "http:" || u.protocol === "ws:");
}

export async function recordedContext(browser: Browser, base: string): Promise<{ context: BrowserContext; page: Page; log: PageLog }> {
  const log: PageLog = { requests: [], external: [], httpErrors: [], errors: [], warnings: [] };
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  await context.route(
    (url) => !isLocal(url.href, base),
    async (route) => {
      log.external.push(route.request().url());
      await route.abort("blockedbyclient");
    },
  );
  context.on("request", (r) => void log.requests.push(r.url()));
  context.on("requestfailed", (r) => void log.httpErrors.push(`failed ${r.url()} (${r.failure()?.errorText})`));
  context.on("response", (r) => void (r.status() >= 400 && log.httpErrors.push(`${r.status()} ${r.url()}`)));
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") log.errors.push(m.text());
    else if (m.type() === "warning") log.warnings.push(m.text());
  });
  page.on("pageerror", (e) => void log.errors.push(`pageerror: ${e.message}`));
  return { context, page, log };
}

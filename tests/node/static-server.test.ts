// node/static-server.ts (the e2e tests' and `npm run serve`'s server): MIME types, clean URLs, no path traversal.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mimeType, resolveFile, serveStatic, type StaticServer } from "../../node/static-server.js";

const root = mkdtempSync(join(tmpdir(), "heatkv-serve-"));
mkdirSync(join(root, "sub"));
writeFileSync(join(root, "index.html"), "<h1>home</h1>");
writeFileSync(join(root, "system.html"), "<h1>system</h1>");
writeFileSync(join(root, "sub", "index.html"), "sub");
writeFileSync(join(root, "m.wasm"), Buffer.from([0, 97, 115, 109]));
writeFileSync(join(root, "a.mjs"), "export {}");

describe("static server", () => {
  let server: StaticServer;
  beforeAll(async () => void (server = await serveStatic(root)));
  afterAll(async () => server.close());

  it("maps types that browsers are strict about", () => {
    expect(mimeType("x.wasm")).toBe("application/wasm");
    expect(mimeType("x.mjs")).toMatch(/^text\/javascript/);
    expect(mimeType("x.js")).toMatch(/^text\/javascript/);
    expect(mimeType("x.parquet")).toBe("application/vnd.apache.parquet");
    expect(mimeType("x.unknown")).toBe("application/octet-stream");
  });

  it("resolves clean URLs and refuses to leave the root", () => {
    expect(resolveFile(root, "/")).toBe(join(root, "index.html"));
    expect(resolveFile(root, "/system")).toBe(join(root, "system.html"));
    expect(resolveFile(root, "/system?x=1#y")).toBe(join(root, "system.html"));
    expect(resolveFile(root, "/sub/")).toBe(join(root, "sub", "index.html"));
    expect(resolveFile(root, "/../etc/passwd")).toBeNull();
    expect(resolveFile(root, "/%2e%2e/%2e%2e/etc/passwd")).toBeNull();
    expect(resolveFile(root, "/missing")).toBeNull();
  });

  it("serves on 127.0.0.1 with the right content types and a 404", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const wasm = await fetch(`${server.url}/m.wasm`);
    expect(wasm.status).toBe(200);
    expect(wasm.headers.get("content-type")).toBe("application/wasm");
    expect(new Uint8Array(await wasm.arrayBuffer())).toEqual(new Uint8Array([0, 97, 115, 109]));
    const page = await fetch(`${server.url}/system`);
    expect(await page.text()).toBe("<h1>system</h1>");
    expect((await fetch(`${server.url}/nope.js`)).status).toBe(404);
    expect(page.headers.get("cross-origin-opener-policy")).toBeNull();
  });
});

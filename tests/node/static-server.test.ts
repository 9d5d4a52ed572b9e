// node/static-server.ts (the e2e tests' and `npm run serve`'s server): MIME types, clean URLs, no path traversal,
// no symlink out of the root, only regular files, and a file error is a 404/500 — never the end of the server.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mimeType, resolveFile, serveStatic, type StaticServer } from "../../node/static-server.js";

// open() of node:fs/promises, wrapped so a test can act between the server's resolve and its open/read
const hooks = vi.hoisted(() => ({ beforeOpen: null as null | ((path: string) => void), failRead: null as null | ((path: string) => boolean) }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...real,
    open: async (path: string, ...rest: unknown[]) => {
      hooks.beforeOpen?.(String(path));
      const h = await (real.open as (...a: unknown[]) => Promise<import("node:fs/promises").FileHandle>)(path, ...rest);
      if (!hooks.failRead?.(String(path))) return h;
      // a handle whose reads fail (EIO), as a disk error or a special file would
      return {
        fd: h.fd,
        stat: () => h.stat(),
        close: () => h.close(),
        createReadStream: () =>
          new Readable({
            read() {
              void h.close();
              this.destroy(Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" }));
            },
          }),
      };
    },
  };
});

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

  it("never follows a symlink out of the root (/leak → /etc/passwd is a 404)", async () => {
    symlinkSync("/etc/passwd", join(root, "leak"));
    symlinkSync("/etc", join(root, "etcdir"));
    symlinkSync("system.html", join(root, "alias.html"));
    expect(resolveFile(root, "/leak")).toBeNull();
    expect(resolveFile(root, "/etcdir/passwd")).toBeNull();
    expect((await fetch(`${server.url}/leak`)).status).toBe(404);
    expect((await fetch(`${server.url}/etcdir/passwd`)).status).toBe(404);
    expect(await (await fetch(`${server.url}/alias`)).text()).toBe("<h1>system</h1>"); // a symlink inside the root is fine
  });

  it("refuses a symlink to /proc/self/mem and anything that is not a regular file", async () => {
    symlinkSync("/proc/self/mem", join(root, "mem"));
    symlinkSync("/dev/zero", join(root, "zero.html"));
    expect(resolveFile(root, "/mem")).toBeNull();
    expect((await fetch(`${server.url}/mem`)).status).toBe(404);
    expect((await fetch(`${server.url}/zero`)).status).toBe(404);
    execFileSync("mkfifo", [join(root, "pipe.js")]); // inside the root, but no regular file: must not hang either
    expect(resolveFile(root, "/pipe.js")).toBeNull();
    expect((await fetch(`${server.url}/pipe.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/sub`)).status).toBe(200); // a folder is served as its index.html
  });

  it("a file deleted between resolve and read is a 404 and the server answers the next request", async () => {
    writeFileSync(join(root, "vanish.js"), "x");
    hooks.beforeOpen = (p) => {
      if (p.endsWith("vanish.js")) rmSync(p);
    };
    try {
      expect((await fetch(`${server.url}/vanish.js`)).status).toBe(404);
    } finally {
      hooks.beforeOpen = null;
    }
    expect(await (await fetch(`${server.url}/system`)).text()).toBe("<h1>system</h1>");
  });

  it("a read error is a 500 and the server keeps serving", async () => {
    writeFileSync(join(root, "broken.js"), "y".repeat(1000));
    hooks.failRead = (p) => p.endsWith("broken.js");
    try {
      const r = await fetch(`${server.url}/broken.js`);
      expect(r.status).toBe(500);
    } finally {
      hooks.failRead = null;
    }
    expect(await (await fetch(`${server.url}/system`)).text()).toBe("<h1>system</h1>");
  });

  it("binds 127.0.0.1 only", async () => {
    const addr = server.server.address();
    expect(typeof addr === "object" && addr?.address).toBe("127.0.0.1");
    expect(serveStatic.length).toBeLessThanOrEqual(2); // (root, port): no host parameter to widen it
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

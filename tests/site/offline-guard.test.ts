// The build's network guard (tools/offline-guard.mjs): loopback passes; anything else — including the npm
// registry, which this machine CAN reach — is logged and kills the process. This is what makes
// "the build made zero external requests" a checked fact rather than a consequence of being offline.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const GUARD = pathToFileURL(join(import.meta.dirname, "..", "..", "tools", "offline-guard.mjs")).href;

function guarded(code: string) {
  const log = join(mkdtempSync(join(tmpdir(), "heatkv-guard-")), "net.jsonl");
  const r = spawnSync(process.execPath, ["--import", GUARD, "--input-type=module", "-e", code], {
    env: { ...process.env, HEATKV_NET_LOG: log },
    encoding: "utf8",
    timeout: 30_000,
  });
  const entries = existsSync(log)
    ? readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { kind: string; host: string })
    : [];
  return { status: r.status, stderr: r.stderr, entries };
}

describe("offline guard", () => {
  it("kills a process that fetches from the npm registry (https)", () => {
    const r = guarded(`await fetch("https://registry.npmjs.org/d3"); console.log("reached");`);
    expect(r.status).toBe(97);
    expect(r.entries).toEqual([expect.objectContaining({ kind: "tls", host: "registry.npmjs.org" })]);
  });

  it("kills plain http, raw TCP and DNS look-ups of other hosts", () => {
    expect(guarded(`import http from "node:http"; http.get("http://cdn.jsdelivr.net/npm/d3");`).entries[0]).toMatchObject({
      kind: "tcp",
      host: "cdn.jsdelivr.net",
    });
    expect(guarded(`import net from "node:net"; net.connect(443, "1.1.1.1");`).entries[0]).toMatchObject({ kind: "tcp", host: "1.1.1.1" });
    expect(guarded(`import dns from "node:dns"; await dns.promises.lookup("example.com");`).entries[0]).toMatchObject({ kind: "dns", host: "example.com" });
  });

  it("lets loopback through", () => {
    const r = guarded(`
      import http from "node:http";
      const s = http.createServer((q, res) => res.end("ok")).listen(0, "127.0.0.1", async () => {
        const t = await (await fetch("http://127.0.0.1:" + s.address().port)).text();
        console.log(t); s.close();
      });`);
    expect(r.status).toBe(0);
    expect(r.entries).toEqual([]);
  });
});

// A tiny static file server for the built site (dist/), bound to 127.0.0.1 only.
// Correct MIME types for .wasm (application/wasm, needed for streaming compilation) and .mjs; Framework's
// clean URLs (/system → system.html, /dir/ → dir/index.html). No COOP/COEP headers on purpose: the site
// must work from any plain static host. CLI: `npm run serve` (tsx node/static-server.ts [dir] [port]).
// Serves only regular files whose real path stays under the root (a symlink out of it is a 404), answers
// 404/500 on a file that vanishes or cannot be read and keeps serving (docs/reliability.md).
import { constants, realpathSync, statSync } from "node:fs";
import { type FileHandle, open, readlink } from "node:fs/promises";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve, sep } from "node:path";

export const MIME_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".parquet": "application/vnd.apache.parquet",
  ".arrow": "application/vnd.apache.arrow.stream",
  ".csv": "text/csv; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".map": "application/json; charset=utf-8",
};

export function mimeType(path: string): string {
  return MIME_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}

const within = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** realpath, or null when the path does not exist (or cannot be resolved). */
function real(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

/**
 * Map a URL path to a regular file under root (clean URLs), or null when there is none, it escapes root
 * (by `..` or by a symlink whose target lies outside root), or it is not a regular file.
 */
export function resolveFile(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split(/[?#]/)[0]);
  } catch {
    return null;
  }
  if (path.includes("\0")) return null;
  const base = resolve(root);
  const realBase = real(base);
  if (realBase === null) return null;
  const file = normalize(join(base, path));
  if (!within(file, base)) return null;
  const candidates = path.endsWith("/") ? [join(file, "index.html")] : [file, `${file}.html`, join(file, "index.html")];
  for (const c of candidates) {
    const r = real(c);
    if (r === null || !within(r, realBase)) continue;
    try {
      if (statSync(r).isFile()) return c;
    } catch {
      // removed meanwhile: try the next candidate
    }
  }
  return null;
}

export interface StaticServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Where an open file descriptor really points (Linux: /proc/self/fd), to re-check the root after open. */
async function fdTarget(fd: number): Promise<string | null> {
  try {
    return await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

/**
 * Open `file` (resolved under root) and stream it: a file that vanished or cannot be opened is a 404, one
 * that is no longer a regular file under root is a 404, a read error before the first byte is a 500 and
 * after it aborts the response; the server itself never stops on a file error.
 */
async function sendFile(res: ServerResponse, file: string, realRoot: string, head: boolean, status = 200): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    notFound(res);
    return;
  }
  let streaming = false;
  try {
    const st = await handle.stat();
    const target = await fdTarget(handle.fd);
    if (!st.isFile() || (target !== null && !within(target, realRoot))) {
      notFound(res);
      return;
    }
    const headers = { "content-type": mimeType(file), "content-length": st.size, "cache-control": "no-cache" };
    if (head || st.size === 0) {
      res.writeHead(status, headers).end();
      return;
    }
    const stream = handle.createReadStream({ start: 0, end: st.size - 1, autoClose: true });
    streaming = true;
    let started = false;
    stream.on("data", (chunk) => {
      if (!started) {
        started = true;
        res.writeHead(status, headers);
      }
      if (!res.write(chunk)) {
        stream.pause();
        res.once("drain", () => stream.resume());
      }
    });
    stream.on("end", () => res.end());
    stream.on("error", () => {
      if (!started && !res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("cannot read file");
      else res.destroy();
    });
    res.on("close", () => stream.destroy());
  } catch {
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("cannot read file");
    else res.destroy();
  } finally {
    if (!streaming) await handle.close().catch(() => {});
  }
}

function notFound(res: ServerResponse): void {
  if (!res.headersSent) res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found");
}

/** Serve `root` on 127.0.0.1 only (never another interface); `port` 0 picks a free one. */
export async function serveStatic(root: string, port = 0): Promise<StaticServer> {
  const host = "127.0.0.1";
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const head = req.method === "HEAD";
    const realRoot = real(resolve(root));
    const file = realRoot === null ? null : resolveFile(root, req.url ?? "/");
    const done = file
      ? sendFile(res, file, realRoot!, head)
      : (() => {
          const page = resolveFile(root, "/404.html");
          return page && realRoot ? sendFile(res, page, realRoot, head, 404) : Promise.resolve(notFound(res));
        })();
    done.catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.on("clientError", (_e, socket) => socket.destroy());
  await new Promise<void>((ok, fail) => server.once("error", fail).listen(port, host, () => ok()));
  const { port: actual } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${actual}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

if (import.meta.filename === process.argv[1]) {
  const root = process.argv[2] ?? "dist";
  const { url } = await serveStatic(root, Number(process.argv[3] ?? 3000));
  console.log(`serving ${root} at ${url}/`);
}

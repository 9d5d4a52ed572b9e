// A tiny static file server for the built site (dist/), bound to 127.0.0.1 only.
// Correct MIME types for .wasm (application/wasm, needed for streaming compilation) and .mjs; Framework's
// clean URLs (/system → system.html, /dir/ → dir/index.html). No COOP/COEP headers on purpose: the site
// must work from any plain static host. CLI: `npm run serve` (tsx node/static-server.ts [dir] [port]).
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
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

/** Map a URL path to a file under root (clean URLs), or null when there is none / it escapes root. */
export function resolveFile(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split(/[?#]/)[0]);
  } catch {
    return null;
  }
  const base = resolve(root);
  const file = normalize(join(base, path));
  if (file !== base && !file.startsWith(base + sep)) return null;
  const candidates = path.endsWith("/") ? [join(file, "index.html")] : [file, `${file}.html`, join(file, "index.html")];
  for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

export interface StaticServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function serveStatic(root: string, port = 0, host = "127.0.0.1"): Promise<StaticServer> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const file = resolveFile(root, req.url ?? "/");
    if (!file) {
      const notFound = join(root, "404.html");
      res.writeHead(404, { "content-type": MIME_TYPES[".html"] });
      if (existsSync(notFound) && req.method === "GET") createReadStream(notFound).pipe(res);
      else res.end("not found");
      return;
    }
    res.writeHead(200, { "content-type": mimeType(file), "content-length": statSync(file).size, "cache-control": "no-cache" });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
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

// @ts-check
// Network guard for the build: preload with `node --import <this file>` (tools/build.ts puts it in
// NODE_OPTIONS, so Framework and every data loader it spawns inherit it). Any attempt to open a TCP/TLS
// connection or resolve a name that is not loopback is recorded in $HEATKV_NET_LOG (one JSON line) and is
// FATAL: the process exits with code 97 at once (HEATKV_NET_GUARD=log: throw instead, to list them all).
// The machine can reach the npm registry, so "there is no internet" alone would not prove that the build
// is offline; this guard does.
import dns from "node:dns";
import fs from "node:fs";
import net from "node:net";
import tls from "node:tls";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"]);
const log = process.env.HEATKV_NET_LOG;

/** @param {string} kind @param {unknown} host @param {unknown} port */
function deny(kind, host, port) {
  const entry = { kind, host: String(host), port: port == null ? null : Number(port), pid: process.pid, argv: process.argv.slice(1) };
  const line = JSON.stringify(entry);
  if (log) fs.appendFileSync(log, line + "\n");
  fs.writeSync(2, `\n[offline-guard] blocked external network access: ${line}\n`);
  if (process.env.HEATKV_NET_GUARD === "log") throw new Error(`offline-guard: blocked ${kind} ${host}`);
  process.exit(97);
}

/** @param {unknown} host */
function isLocal(host) {
  if (host == null || host === "") return true; // net default host is localhost
  const h = String(host).toLowerCase();
  return LOOPBACK.has(h) || h.startsWith("127.");
}

const connect = net.Socket.prototype.connect;
// @ts-ignore -- overloads
net.Socket.prototype.connect = function (...args) {
  let opts = args[0];
  if (Array.isArray(opts)) opts = opts[0]; // internal normalized form
  if (opts && typeof opts === "object") {
    const o = /** @type {{path?: string, host?: string, port?: number}} */ (opts);
    if (!o.path && !isLocal(o.host)) deny("tcp", o.host, o.port);
  } else if (typeof opts === "number" || (typeof opts === "string" && /^\d+$/.test(opts))) {
    if (!isLocal(args[1])) deny("tcp", args[1], opts);
  }
  // @ts-ignore
  return connect.apply(this, args);
};

const tlsConnect = tls.connect;
// @ts-ignore -- overloads
tls.connect = function (...args) {
  const o = /** @type {{host?: string, port?: number, socket?: unknown} | undefined} */ (args.find((a) => a && typeof a === "object"));
  const host = o?.host ?? (typeof args[1] === "string" ? args[1] : undefined);
  if (!o?.socket && !isLocal(host)) deny("tls", host, o?.port ?? args[0]);
  // @ts-ignore
  return tlsConnect.apply(this, args);
};

const lookup = dns.lookup;
// @ts-ignore -- overloads
dns.lookup = function (hostname, ...rest) {
  if (!isLocal(hostname)) deny("dns", hostname, null);
  // @ts-ignore
  return lookup.call(this, hostname, ...rest);
};
const plookup = dns.promises.lookup;
dns.promises.lookup = /** @type {typeof plookup} */ (
  function (hostname, ...rest) {
    if (!isLocal(hostname)) deny("dns", hostname, null);
    // @ts-ignore
    return plookup.call(this, hostname, ...rest);
  }
);

// Fill Observable Framework's npm cache (src/.observablehq/cache/_npm) from node_modules so that
// `observable build` never goes to the jsDelivr CDN or the npm registry (see /README.md, "Offline build").
//
// Framework skips a download when `_npm/<name>@<version>/_esm.js` exists, and skips a registry version
// look-up when a `_npm/<name>@<version>/` folder exists. So:
//   * BUNDLES: packages a page may use implicitly (d3, Plot, htl, FileAttachment.csv/.arrow/.parquet …)
//     are esbuilt from node_modules into one minified browser ESM file each;
//   * STUBS: the other packages Framework's own client bundle looks up (react-dom, leaflet, …; unused here)
//     get an empty folder: "version known", never fetched. A page that really used one would make the
//     build try the CDN, which the network guard (tools/offline-guard.mjs) turns into a build failure.
// It also drops cached data-loader outputs that are older than their inputs (Framework only compares a
// cached output with the loader file itself, not with data/ or the jobs/ and node/ modules it reads).
// Run before every build (`npm run build` does); idempotent, ~0.5 s cold, ~10 ms warm.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, copyFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(ROOT, "package.json"));

/** Packages bundled from node_modules into the Framework npm cache, with extra files copied beside them. */
export const BUNDLES: { name: string; default?: boolean; files?: string[] }[] = [
  { name: "d3" },
  { name: "@observablehq/plot" },
  { name: "htl" },
  { name: "d3-dsv" },
  { name: "isoformat" },
  { name: "apache-arrow" },
  { name: "parquet-wasm", default: true, files: ["esm/parquet_wasm_bg.wasm"] },
];

/** Framework client look-ups that this site never loads: an empty folder pins a version offline. */
export const STUBS: Record<string, string> = {
  react: "19.1.0",
  "react-dom": "19.1.0",
  lodash: "4.17.21",
  arquero: "8.0.3",
  echarts: "5.6.0",
  leaflet: "1.9.4",
  "mapbox-gl": "3.13.0",
  "topojson-client": "3.1.0",
  "@observablehq/sample-datasets": "1.0.1",
  exceljs: "4.4.0",
  jszip: "3.10.1",
  katex: "0.16.22",
  mermaid: "11.6.0",
  "@viz-js/viz": "3.14.0",
  vega: "6.1.2",
  "vega-lite": "6.1.0",
  "vega-lite-api": "5.6.0",
  "@uwdata/vgplot": "0.16.2",
  "sql.js": "1.13.0",
};

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

export async function prefill(root = ROOT, log: (line: string) => void = console.log): Promise<string[]> {
  const cache = join(root, "src", ".observablehq", "cache", "_npm");
  const written: string[] = [];
  for (const { name, default: hasDefault = false, files = [] } of BUNDLES) {
    const dir = join(cache, `${name}@${packageVersion(name)}`);
    const out = join(dir, "_esm.js");
    if (!existsSync(out)) {
      await build({
        stdin: {
          contents: `export * from ${JSON.stringify(name)};${hasDefault ? ` export {default} from ${JSON.stringify(name)};` : ""}`,
          resolveDir: root,
          loader: "js",
        },
        bundle: true,
        format: "esm",
        platform: "browser",
        target: "es2022",
        minify: true,
        legalComments: "none",
        logLevel: "error",
        outfile: out,
      });
      written.push(relative(root, out));
    }
    for (const file of files) {
      const target = join(dir, file);
      if (existsSync(target)) continue;
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(require.resolve(`${name}/${file}`), target);
      written.push(relative(root, target));
    }
  }
  for (const [name, version] of Object.entries(STUBS)) {
    const dir = join(cache, `${name}@${version}`);
    if (!existsSync(dir)) (mkdirSync(dir, { recursive: true }), written.push(relative(root, dir) + "/"));
  }
  const dropped = dropStaleLoaderOutputs(root);
  log(`prefill: ${written.length} npm cache entries written, ${dropped.length} stale loader outputs dropped`);
  for (const line of [...written, ...dropped.map((p) => `stale: ${p}`)]) log(`  ${line}`);
  return written;
}

/** Newest mtime of any file below dir (0 if missing), skipping dot-files and `skip` folders. */
function newest(dir: string, skip: ReadonlySet<string>): number {
  if (!existsSync(dir) || skip.has(dir)) return 0;
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "__pycache__") continue;
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p, skip) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Loader inputs: what the data loaders (src/data) read or import: data/, jobs/, node/ and src/lib/ (never
 * cli/ or bench/). A change there re-runs the loaders that pages use.
 * src/lib/site holds browser-only page helpers; loaders must not import it (editing a page helper should
 * not re-run, say, a calibration loader).
 */
export const LOADER_INPUTS = ["data", "jobs", "node", "src/lib"];
export const NOT_LOADER_INPUTS = ["src/lib/site"];

export function dropStaleLoaderOutputs(root = ROOT): string[] {
  const cacheRoot = join(root, "src", ".observablehq", "cache");
  const skip = new Set(NOT_LOADER_INPUTS.map((d) => join(root, d)));
  const inputs = Math.max(...LOADER_INPUTS.map((d) => newest(join(root, d), skip)));
  const dropped: string[] = [];
  const visit = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (dir === cacheRoot && entry.name.startsWith("_")) continue; // _npm, _node, _jsr, _file
        visit(p);
      } else if (statSync(p).mtimeMs < inputs) {
        (rmSync(p), dropped.push(relative(root, p)));
      }
    }
  };
  visit(cacheRoot);
  return dropped;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await prefill();

// Observable Plot charts for the site (Plot and d3 come from node_modules, self-hosted by Framework).
import * as Plot from "@observablehq/plot";
import { formatBytes } from "./format.js";

export interface ScaleBytesRow {
  scale: number;
  patch: number;
  tokens: number;
  cached: boolean;
  /** K+V bytes of this scale over all (layer, head), both CFG halves, fp32 — whether cached or not. */
  bytes: number;
}

const CACHED = "cached (kept for later scales)";
const NOT_CACHED = "never cached (last scale)";

/** Bar chart: full-cache KV bytes contributed by each scale, coloured by whether the scale is cached. */
export function bytesPerScaleChart(rows: readonly ScaleBytesRow[], { width = 640 }: { width?: number } = {}): SVGSVGElement | HTMLElement {
  const data = rows.map((r) => ({ ...r, label: `${r.scale} (${r.patch}×${r.patch})`, kib: r.bytes / 1024, status: r.cached ? CACHED : NOT_CACHED }));
  const total = rows.reduce((s, r) => s + (r.cached ? r.bytes : 0), 0);
  return Plot.plot({
    width,
    height: 320,
    marginLeft: 60,
    title: "Full-cache KV memory per scale",
    subtitle: `One image, fp32, K+V, both CFG halves, all layers and heads. Full cache = ${formatBytes(total)} (blue bars only).`,
    x: { label: "scale (token map h×w)", domain: data.map((d) => d.label), tickSize: 0 },
    y: { label: "KV bytes (KiB)", grid: true },
    color: { legend: true, domain: [CACHED, NOT_CACHED], range: ["#4269d0", "#c9c9c9"] },
    marks: [
      Plot.barY(data, { x: "label", y: "kib", fill: "status", tip: { format: { x: true, y: (v: number) => `${v.toFixed(1)} KiB` } } }),
      Plot.text(data, { x: "label", y: "kib", text: (d: { tokens: number }) => `${d.tokens} tok`, dy: -8, fontSize: 11 }),
      Plot.ruleY([0]),
    ],
  });
}

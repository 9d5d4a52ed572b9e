// Export of the head explorer's views: PNG (canvas.toBlob) and SVG (the PNG embedded as a raster, the title
// and the colour legend as vector). svgDocument() and exportFileName() are pure; the pyramid's scales are
// stitched side by side into one canvas.
import type { ExplorerState } from "../explorer-state.js";
import type { ExportView } from "./context.js";
import { el } from "./dom.js";

export const escapeXml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** Plot's legend SVG as an inner fragment: xlink namespace prefixes written as plain href. */
export const plainHref = (svg: string): string => svg.replace(/ xmlns:ns\d+="http:\/\/www\.w3\.org\/1999\/xlink"/g, "").replace(/ ns\d+:href=/g, " href=");

/** The SVG export: title at the top, the raster (CSS px w × h) below it, the legend (serialised SVG) under it. */
export function svgDocument(o: {
  title: string;
  pngDataUrl: string;
  widthPx: number;
  heightPx: number;
  legend?: { svg: string; widthPx: number; heightPx: number } | null;
}): string {
  const lw = o.legend?.widthPx ?? 0;
  const lh = o.legend?.heightPx ?? 0;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${Math.max(o.widthPx, lw)}" height="${o.heightPx + lh + 24}" font-family="sans-serif">` +
    `<text x="0" y="14" font-size="12">${escapeXml(o.title)}</text>` +
    `<image x="0" y="20" width="${o.widthPx}" height="${o.heightPx}" href="${o.pngDataUrl}" style="image-rendering:pixelated"/>` +
    (o.legend ? `<g transform="translate(0,${o.heightPx + 22})">${plainHref(o.legend.svg)}</g>` : "") +
    `</svg>`
  );
}

/** heatkv-<view>-L0H1-img0-cond.<format> */
export function exportFileName(view: ExportView, format: "png" | "svg", state: Pick<ExplorerState, "layer" | "head" | "image" | "branch">): string {
  return `heatkv-${view}-L${state.layer}H${state.head}-img${state.image}-${state.branch}.${format}`;
}

/** x offsets (device px) of canvases placed side by side with a gap, and the total width. */
export function stitchOffsets(widths: readonly number[], gap = 8): { x: number[]; width: number } {
  const x: number[] = [];
  let acc = 0;
  for (const w of widths) {
    x.push(acc);
    acc += w + gap;
  }
  return { x, width: acc };
}

/** The pyramid's scale canvases side by side on white. */
export function stitchCanvases(canvases: readonly HTMLCanvasElement[]): HTMLCanvasElement {
  const { x, width } = stitchOffsets(canvases.map((c) => c.width));
  const out = document.createElement("canvas");
  out.width = width;
  out.height = canvases[0].height;
  const c = out.getContext("2d")!;
  c.fillStyle = "#fff";
  c.fillRect(0, 0, out.width, out.height);
  canvases.forEach((p, i) => c.drawImage(p, x[i], 0));
  return out;
}

/** What a view exports: its canvas, its title, its legend (an Observable Plot SVG) if any. */
export interface ExportSource {
  canvas(): HTMLCanvasElement;
  title(): string;
  legend(): SVGSVGElement | null;
}

const download = (blob: Blob, name: string) => {
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.getAttribute("href")!), 10_000);
};

/** Encode a view as PNG or SVG (and download it). */
export async function exportBlob(src: ExportSource, format: "png" | "svg"): Promise<Blob> {
  const canvas = src.canvas();
  const png = await new Promise<Blob>((res, rej) => canvas.toBlob((b) => (b ? res(b) : rej(new Error("toBlob failed"))), "image/png"));
  if (format === "png") return png;
  const url = await new Promise<string>((res) => {
    const fr = new FileReader();
    fr.onload = () => res(String(fr.result));
    fr.readAsDataURL(png);
  });
  const legend = src.legend();
  const svg = svgDocument({
    title: src.title(),
    pngDataUrl: url,
    widthPx: parseFloat(canvas.style.width) || canvas.width / 2,
    heightPx: parseFloat(canvas.style.height) || canvas.height / 2,
    legend: legend
      ? {
          svg: new XMLSerializer().serializeToString(legend),
          widthPx: Number(legend.getAttribute("width")) || 360,
          heightPx: Number(legend.getAttribute("height")) || 50,
        }
      : null,
  });
  return new Blob([svg], { type: "image/svg+xml" });
}

export { download };

/** PNG and SVG buttons (data-testid hx-export-<view>-<format>). */
export function exportButtons(view: ExportView, onExport: (view: ExportView, format: "png" | "svg") => void): HTMLElement {
  return el(
    "span",
    { class: "hx-export" },
    ...(["png", "svg"] as const).map((f) => {
      const b = el("button", { "data-testid": `hx-export-${view}-${f}`, type: "button" }, `${f.toUpperCase()}`);
      b.addEventListener("click", () => onExport(view, f));
      return b;
    }),
  );
}

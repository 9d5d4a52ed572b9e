// Colour of the head explorer (pure, no DOM): 256-entry RGB lookup tables of d3's colour ramps, the
// position of a value under the log / linear colour scale, and the CSS colour of a table entry.
import { interpolateViridis, interpolateYlOrRd } from "d3";

/** "#rrggbb" or "rgb(r, g, b)" (what d3's interpolators return) → [r, g, b] bytes. */
export function parseRgb(colour: string): [number, number, number] {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
  const rgb = /^rgb\(\s*(\d+),\s*(\d+),\s*(\d+)\s*\)$/.exec(colour);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  throw new Error(`explorer: unexpected colour ${JSON.stringify(colour)} from a d3 interpolator`);
}

/** 256 × RGB bytes of an interpolator over [0, 1] (entry i = f(i / 255)). */
export function lut(f: (t: number) => string): Uint8Array {
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) out.set(parseRgb(f(i / 255)), i * 3);
  return out;
}

export const LUT_VIRIDIS = lut(interpolateViridis);
export const LUT_HEAT = lut(interpolateYlOrRd);

/** CSS colour of the table entry nearest to v ∈ [0, 1] (clamped). */
export function lutCss(table: Uint8Array, v: number): string {
  const i = Math.max(0, Math.min(255, Math.round(v * 255))) * 3;
  return `rgb(${table[i]},${table[i + 1]},${table[i + 2]})`;
}

/** value → [0, 1] under the colour scale (log: `decades` decades below vmax; 0 at and below the bottom). */
export function colourPosition(v: number, vmax: number, scale: "log" | "linear", decades = 4): number {
  if (scale === "linear") return Math.min(1, v / vmax);
  if (!(v > 0)) return 0;
  return Math.max(0, Math.min(1, (Math.log10(v / vmax) + decades) / decades));
}

// One colour AND one marker per method setting for the quality charts (quality.md, report.md): assigned once
// from the full list of swept labels (in code-point order), so a series keeps its style when filters hide
// others. 20 colours (Tableau 20 order, each pair split so neighbours differ), 13 Plot symbols: every one of
// up to 20 series gets its own colour, and its own marker for up to 13 (colour-blind readers and greyscale
// prints still tell them apart).
import { byCodePoint } from "./cells.js";

export const SERIES_COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#aec7e8",
  "#ffbb78",
  "#98df8a",
  "#ff9896",
  "#c5b0d5",
  "#c49c94",
  "#f7b6d2",
  "#c7c7c7",
  "#dbdb8d",
  "#9edae5",
] as const;

export const SERIES_SYMBOLS = [
  "circle",
  "square",
  "triangle",
  "diamond",
  "star",
  "cross",
  "wye",
  "times",
  "hexagon",
  "plus",
  "asterisk",
  "square2",
  "diamond2",
] as const;

export interface SeriesStyle {
  color: string;
  symbol: string;
}

/** label → colour and marker, from every swept label (not only those shown). */
export function seriesStyles(labels: readonly string[]): Map<string, SeriesStyle> {
  const sorted = [...new Set(labels)].sort(byCodePoint);
  if (sorted.length > SERIES_COLORS.length)
    throw new Error(`seriesStyles: ${sorted.length} series but only ${SERIES_COLORS.length} distinct colours; filter the methods first`);
  return new Map(sorted.map((l, i) => [l, { color: SERIES_COLORS[i], symbol: SERIES_SYMBOLS[i % SERIES_SYMBOLS.length] }]));
}

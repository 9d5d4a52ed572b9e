// Series styles of the quality charts (src/lib/site/quality/style.ts): every series gets its own colour and
// (up to 13) its own marker, independent of which series a filter shows.
import { describe, expect, it } from "vitest";
import { SERIES_COLORS, seriesStyles } from "../../src/lib/site/quality/style.js";

const SWEPT = [
  "h2o",
  "hack",
  "heatkv",
  "heatkv+recalkv",
  "heatkv+recalkv:rankRatio=0.25,sigma=1",
  "heatkv:sigma=1",
  "heatkv:sigma=2",
  "pyramid",
  "recalkv",
  "recalkv:sigma=0",
  "scalekv",
  "streaming",
  "uniform",
];

describe("series styles", () => {
  it("the 13 swept method settings: 13 distinct colours and 13 distinct markers", () => {
    const s = seriesStyles(SWEPT);
    expect(s.size).toBe(13);
    expect(new Set([...s.values()].map((v) => v.color)).size).toBe(13);
    expect(new Set([...s.values()].map((v) => v.symbol)).size).toBe(13);
  });
  it("colours stay unique up to the palette size, and the palette itself has no duplicates", () => {
    expect(new Set(SERIES_COLORS.map((c) => c.toLowerCase())).size).toBe(SERIES_COLORS.length);
    const many = Array.from({ length: SERIES_COLORS.length }, (_, i) => `m${String(i).padStart(2, "0")}`);
    expect(new Set([...seriesStyles(many).values()].map((v) => v.color)).size).toBe(many.length);
    expect(() => seriesStyles([...many, "one-more"])).toThrow(/distinct colours/);
  });
  it("a series keeps its style whatever the input order (assigned from the sorted labels)", () => {
    const a = seriesStyles(SWEPT);
    const b = seriesStyles([...SWEPT].reverse());
    for (const l of SWEPT) expect(b.get(l)).toEqual(a.get(l));
  });
});

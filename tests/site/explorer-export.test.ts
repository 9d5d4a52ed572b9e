import { describe, expect, it } from "vitest";
import { escapeXml, exportFileName, plainHref, stitchOffsets, svgDocument } from "../../src/lib/site/explorer/export.js";

describe("explorer export", () => {
  it("SVG: escaped title, the raster below it, the legend under the raster", () => {
    const svg = svgDocument({
      title: "a < b & c",
      pngDataUrl: "data:image/png;base64,AAAA",
      widthPx: 200,
      heightPx: 100,
      legend: { svg: '<svg xmlns:ns1="http://www.w3.org/1999/xlink" width="360"><image ns1:href="x"/></svg>', widthPx: 360, heightPx: 50 },
    });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" [^>]* width="360" height="174" /);
    expect(svg).toContain('<text x="0" y="14" font-size="12">a &lt; b &amp; c</text>');
    expect(svg).toContain('<image x="0" y="20" width="200" height="100" href="data:image/png;base64,AAAA"');
    expect(svg).toContain('<g transform="translate(0,122)"><svg width="360"><image href="x"/></svg></g>');
    expect(svg.endsWith("</svg>")).toBe(true);
  });

  it("SVG without a legend: the raster's size", () => {
    const svg = svgDocument({ title: "t", pngDataUrl: "u", widthPx: 50, heightPx: 40 });
    expect(svg).toMatch(/width="50" height="64"/);
    expect(svg).not.toContain("<g ");
  });

  it("file names name the view, the locked head, the image and the branch", () => {
    expect(exportFileName("detail", "svg", { layer: 1, head: 0, image: 2, branch: "uncond" })).toBe("heatkv-detail-L1H0-img2-uncond.svg");
    expect(exportFileName("pyramid", "png", { layer: 12, head: 3, image: 0, branch: "cond" })).toBe("heatkv-pyramid-L12H3-img0-cond.png");
  });

  it("pyramid stitching: side by side with an 8 px gap", () => {
    expect(stitchOffsets([10, 20, 30])).toEqual({ x: [0, 18, 46], width: 84 });
    expect(escapeXml("<&>")).toBe("&lt;&amp;>");
    expect(plainHref('<a xmlns:ns2="http://www.w3.org/1999/xlink" ns2:href="y"/>')).toBe('<a href="y"/>');
  });
});

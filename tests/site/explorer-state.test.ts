import { tableFromArrays, tableToIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { METRIC_NAMES } from "../../src/lib/metrics/heads.js";
import { type ExplorerIndex, imageFileSource, parseHeadRows } from "../../src/lib/site/explorer-data.js";
import { staticMethods } from "../../src/lib/site/explorer-schedule.js";
import { decodeState, DEFAULT_STATE, encodeState, type ExplorerState } from "../../src/lib/site/explorer-state.js";

const limits = { numLayers: 6, numHeads: 8, images: 6, scales: 7, tokens: 155 };

describe("explorer URL state", () => {
  it("defaults encode to an empty query", () => {
    expect(encodeState(DEFAULT_STATE)).toBe("");
    expect(decodeState("", limits)).toEqual(DEFAULT_STATE);
  });

  it("round-trips every field", () => {
    const s: ExplorerState = {
      image: 3,
      branch: "uncond",
      layer: 5,
      head: 7,
      combine: [1, 12],
      agg: "max",
      metric: "spatialDistance",
      sort: true,
      scale: 6,
      patch: 120,
      dir: "receives",
      norm: "global",
      color: "linear",
      sink: true,
      cmp: "schedule",
      cmpLayer: 2,
      cmpHead: 4,
      cmpImage: 5,
      sched: "pyramid",
      budget: 20,
    };
    const q = encodeState(s);
    expect(q).toBe(
      "img=3&br=uncond&l=5&h=7&with=1%2C12&agg=max&metric=spatialDistance&sort=1&t=6&q=120&dir=receives&norm=global&color=linear&sink=1&cmp=schedule&cl=2&ch=4&ci=5&sched=pyramid&budget=20",
    );
    expect(decodeState(q, limits)).toEqual(s);
  });

  it("keeps a method name with '+' (a shared link must not silently show another method)", () => {
    const s: ExplorerState = { ...DEFAULT_STATE, combine: [], cmp: "schedule", sched: "heatkv+recalkv" };
    expect(decodeState(encodeState(s), limits).sched).toBe("heatkv+recalkv");
  });

  it("offers only block-dropping static methods for the schedule comparison", () => {
    const m = staticMethods();
    expect(m).toContain("heatkv");
    expect(m).not.toContain("full");
    expect(m.filter((x) => x.includes("recalkv"))).toEqual([]);
  });

  it("ignores out-of-range and unknown values", () => {
    const s = decodeState("img=9&l=6&h=-1&t=7&q=155&br=x&metric=nope&with=3,3,999,a&sched=a%20b&budget=0", limits);
    expect(s).toEqual({ ...DEFAULT_STATE, combine: [3] });
  });
});

describe("explorer data", () => {
  const K = 2;
  it("parses the heads table (metrics and K × K mass columns)", () => {
    const cols: Record<string, unknown> = {
      image: Int32Array.from([0, 0]),
      branch: ["cond", "uncond"],
      layer: Int32Array.from([1, 1]),
      head: Int32Array.from([2, 3]),
      scalekv: ["drafter", "refiner"],
      hack: ["structural", "contextual"],
    };
    METRIC_NAMES.forEach((m, i) => (cols[m] = Float64Array.from([i, i + 0.5])));
    cols.m0_0 = Float64Array.from([1, 1]);
    cols.m1_0 = Float64Array.from([0.25, 0.75]);
    cols.m1_1 = Float64Array.from([0.75, 0.25]);
    const rows = parseHeadRows(tableToIPC(tableFromArrays(cols as Parameters<typeof tableFromArrays>[0]), "file"), K);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ image: 0, branch: "uncond", layer: 1, head: 3, scalekv: "refiner", hack: "contextual", [METRIC_NAMES[2]]: 2.5 });
    expect(Array.from(rows[0].mass)).toEqual([1, 0, 0.25, 0.75]);
  });

  it("image files: pyramid first, then branch × layer × head blocks", async () => {
    // patch nums [1, 2]: 5 tokens, packed 21 bytes per head; 2 layers × 2 heads; 2×2 images of 3 bytes per pixel
    const index = {
      format: "t",
      model: { id: "t", patchNums: [1, 2], numLayers: 2, numHeads: 2, classes: ["a"], imageSize: 2, totalTokens: 5 },
      images: [{ id: 0, classIndex: 0, className: "a", seed: 1 }],
      layout: { pyramidBytes: 2 * 12, headBytes: 21 },
      metricRules: { sigma: 3, topK: 16 },
    } as ExplorerIndex;
    const bytes = new Uint8Array(24 + 2 * 4 * 21);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i < 24 ? i : Math.floor((i - 24) / 21);
    const src = imageFileSource(index, [], [{ arrayBuffer: async () => bytes.buffer }]);
    const h = await src.head(0, "uncond", 1, 0); // block (1·2 + 1)·2 + 0 = 6
    expect(h.length).toBe(21);
    expect(new Set(h)).toEqual(new Set([6]));
    const pyr = (await src.pyramid(0))!;
    expect(Array.from(pyr[1])).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
    await expect(async () => src.head(1, "cond", 0, 0)).rejects.toThrow(/no file for image 1/);
  });
});

import { describe, expect, it } from "vitest";
import { defineMethod } from "../../src/lib/schedules/method.js";
import { METHODS } from "../../src/lib/schedules/registry.js";

describe("method definitions", () => {
  it("defineMethod returns the definition; every registered method declares kind, stats need and params", () => {
    const m = defineMethod({
      name: "x",
      summary: "s",
      kind: "static",
      needsStats: false,
      params: {},
      build: () => ({ kind: "static", keep: new Uint32Array(0) }),
    });
    expect(m.name).toBe("x");
    for (const [name, def] of Object.entries(METHODS)) {
      expect(def.name).toBe(name);
      expect(["static", "dynamic"]).toContain(def.kind);
      expect(typeof def.needsStats).toBe("boolean");
    }
    expect(
      Object.entries(METHODS)
        .filter(([, d]) => d.needsStats)
        .map(([n]) => n),
    ).toEqual(["scalekv", "hack", "heatkv", "heatkv+recalkv"]);
    expect(
      Object.entries(METHODS)
        .filter(([, d]) => (d as { needsLowRank?: boolean }).needsLowRank)
        .map(([n]) => n),
    ).toEqual(["recalkv", "heatkv+recalkv"]);
  });
});

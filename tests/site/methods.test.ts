import { describe, expect, it } from "vitest";
import { listMethods } from "../../src/lib/schedules/registry.js";
import { parseMethodSpec } from "../../src/lib/schedules/spec.js";
import {
  compressingMethods,
  methodParams,
  methodsWithParam,
  nonDefaultParams,
  referenceMethods,
  sharedDefault,
  sweepLabel,
} from "../../src/lib/site/methods.js";

describe("site method facts from the registry", () => {
  it("sweep labels: method alone at its defaults, else the non-default parameters in declaration order", () => {
    // the sweep's default cells (jobs/sweep.ts defaultMethodSpecs) keep their labels
    for (const label of ["heatkv", "h2o", "heatkv:sigma=1", "heatkv:sigma=2", "recalkv:sigma=0", "heatkv+recalkv:rankRatio=0.25,sigma=1"]) {
      const spec = parseMethodSpec(label);
      expect(sweepLabel(spec.method, spec.params)).toBe(label);
    }
    expect(sweepLabel("heatkv", { sigma: 3 })).toBe("heatkv");
    expect(sweepLabel("heatkv+recalkv", { sigma: 1, rankRatio: 0.25 })).toBe("heatkv+recalkv:rankRatio=0.25,sigma=1");
    expect(nonDefaultParams("heatkv", { strict: true, sigma: 3 })).toEqual({ strict: true });
  });

  it("a page's controls reach only the methods that take them", () => {
    expect(methodParams("heatkv", { sigma: 2, rankRatio: 0.5 })).toEqual({ sigma: 2 });
    expect(methodParams("heatkv+recalkv", { sigma: 2, rankRatio: 0.5 })).toEqual({ sigma: 2, rankRatio: 0.5 });
    expect(methodParams("recalkv", { sigma: 1, rankRatio: undefined })).toEqual({ sigma: 1 });
    expect(methodParams("h2o", { sigma: 2 })).toEqual({});
    expect(() => methodParams("nope", {})).toThrow(/must be one of/);
  });

  it("which methods take a parameter, their shared default, the full-cache reference", () => {
    expect(methodsWithParam("sigma").map((m) => m.name)).toEqual(
      listMethods()
        .filter((m) => "sigma" in m.params)
        .map((m) => m.name),
    );
    expect(methodsWithParam("sigma").map((m) => m.name)).toContain("heatkv");
    expect(sharedDefault("sigma")).toBe(3);
    expect(() => sharedDefault("rankRatio")).toThrow(/disagree/);
    expect(referenceMethods()).toEqual(["full"]);
    expect(compressingMethods()).not.toContain("full");
    expect(compressingMethods().length).toBe(listMethods().length - 1);
  });
});

import { describe, expect, it } from "vitest";
import { parseMethodSpec, parseMethodSpecList, printMethodSpec } from "../../src/lib/schedules/spec.js";

describe("the one method-spec grammar (src/lib/schedules/spec.ts)", () => {
  it("parses method and typed parameters and prints the canonical label", () => {
    expect(parseMethodSpec("heatkv:sigma=1,strict=true")).toEqual({
      label: "heatkv:sigma=1,strict=true",
      method: "heatkv",
      params: { sigma: 1, strict: true },
    });
    expect(parseMethodSpec(" heatkv+recalkv : rankRatio=0.25 + sigma=1 ")).toEqual({
      label: "heatkv+recalkv:rankRatio=0.25,sigma=1",
      method: "heatkv+recalkv",
      params: { rankRatio: 0.25, sigma: 1 },
    });
    expect(printMethodSpec("h2o", {})).toBe("h2o");
    expect(printMethodSpec("scalekv", { drafterFraction: 0.1 })).toBe("scalekv:drafterFraction=0.1");
  });
  it("a list: a comma followed by name= continues the previous spec, any other comma starts a new one", () => {
    const l = parseMethodSpecList("heatkv:sigma=1,strict=true,h2o,heatkv+recalkv:rankRatio=0.25,sigma=1,recalkv");
    expect(l.map((s) => s.label)).toEqual(["heatkv:sigma=1,strict=true", "h2o", "heatkv+recalkv:rankRatio=0.25,sigma=1", "recalkv"]);
    // the older CLI form ('+' between parameters) reads the same
    expect(parseMethodSpecList("heatkv:sigma=1+strict=true,h2o").map((s) => s.label)).toEqual(["heatkv:sigma=1,strict=true", "h2o"]);
  });
  it("refuses unknown methods, repeated or malformed parameters and empty lists, naming the option", () => {
    expect(() => parseMethodSpec("nope", "--method")).toThrow(/--method: field "method" must be one of/);
    expect(() => parseMethodSpec("heatkv:sigma=1,sigma=2", "--methods")).toThrow('--methods: field "params.sigma" is given twice ("sigma=1" and "sigma=2")');
    expect(() => parseMethodSpec("heatkv:", "--methods")).toThrow(/nothing follows ":"/);
    expect(() => parseMethodSpec("heatkv:sigma", "--methods")).toThrow(/expected name=value, got "sigma"/);
    expect(() => parseMethodSpecList(" , ", "--methods")).toThrow(/no method given/);
  });
});

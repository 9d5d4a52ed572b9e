import { describe, expect, it } from "vitest";
import { type ParamSpecs, defaultParams, resolveParams } from "../../src/lib/schedules/params.js";

const specs = {
  sigma: { type: "integer", default: 3, min: 0, max: 10, doc: "" },
  ratio: { type: "number", default: 0.5, min: 0, max: 1, minExclusive: true, doc: "" },
  kernel: { type: "integer", default: 5, min: 1, odd: true, doc: "" },
  strict: { type: "boolean", default: false, doc: "" },
  mode: { type: "enum", default: "a", values: ["a", "b"], doc: "" },
} satisfies ParamSpecs;

describe("resolveParams", () => {
  it("fills defaults and keeps given values", () => {
    expect(resolveParams("m", specs, undefined)).toEqual({ sigma: 3, ratio: 0.5, kernel: 5, strict: false, mode: "a" });
    expect(resolveParams("m", specs, { sigma: 0, strict: true, mode: "b" })).toMatchObject({ sigma: 0, strict: true, mode: "b" });
    expect(defaultParams(specs)).toEqual({ sigma: 3, ratio: 0.5, kernel: 5, strict: false, mode: "a" });
  });
  it.each([
    [{ foo: 1 }, 'params: field "params.foo" is not a parameter of method "m" (known: sigma, ratio, kernel, strict, mode)'],
    [{ sigma: 1.5 }, 'params: field "params.sigma" must be an integer in [0, 10], got 1.5'],
    [{ sigma: -1 }, 'params: field "params.sigma" must be an integer in [0, 10], got -1'],
    [{ sigma: "3" }, 'params: field "params.sigma" must be an integer in [0, 10], got "3"'],
    [{ ratio: 0 }, 'params: field "params.ratio" must be a number in (0, 1], got 0'],
    [{ ratio: Number.NaN }, 'params: field "params.ratio" must be a number in (0, 1], got NaN'],
    [{ kernel: 4 }, 'params: field "params.kernel" must be an odd integer in [1, ∞), got 4'],
    [{ strict: "yes" }, 'params: field "params.strict" must be true or false, got "yes"'],
    [{ mode: "c" }, 'params: field "params.mode" must be one of "a", "b", got "c"'],
  ])("rejects %j", (raw, msg) => {
    expect(() => resolveParams("m", specs, raw)).toThrow(msg);
  });
  it("a method without parameters says so", () => {
    expect(() => resolveParams("full", {}, { x: 1 })).toThrow('params: field "params.x" is not a parameter of method "full" (it takes none)');
  });
});

/**
 * Typed, validated method parameters. Each method declares its parameters with defaults and ranges;
 * `resolveParams` fills defaults and rejects unknown names / wrong types / out-of-range values with one
 * line naming the field ("params.sigma").
 */
import { ScheduleError, shown } from "./errors.js";
import type { ParamValue } from "./schedule.js";

export type ParamSpec =
  | { type: "integer"; default: number; min: number; max?: number; odd?: boolean; doc: string }
  | { type: "number"; default: number; min: number; max?: number; minExclusive?: boolean; doc: string }
  | { type: "boolean"; default: boolean; doc: string }
  | { type: "enum"; default: string; values: readonly string[]; doc: string };

export type ParamSpecs = Record<string, ParamSpec>;

/** The resolved parameter object of a method, typed from its specs. */
export type ParamsOf<S extends ParamSpecs> = {
  [K in keyof S]: S[K] extends { type: "boolean" } ? boolean : S[K] extends { type: "enum" } ? string : number;
};

function range(spec: { min: number; max?: number; minExclusive?: boolean }): string {
  return `${spec.minExclusive ? "(" : "["}${spec.min}, ${spec.max ?? "∞"}${spec.max === undefined ? ")" : "]"}`;
}

export function resolveParams<S extends ParamSpecs>(method: string, specs: S, raw: Record<string, unknown> | undefined, source = "params"): ParamsOf<S> {
  const out: Record<string, ParamValue> = {};
  const given = raw ?? {};
  if (typeof given !== "object" || Array.isArray(given)) throw new ScheduleError(source, "params", `must be an object, got ${shown(given)}`);
  for (const k of Object.keys(given)) {
    if (!Object.hasOwn(specs, k)) {
      const known = Object.keys(specs);
      throw new ScheduleError(
        source,
        `params.${k}`,
        `is not a parameter of method "${method}" (${known.length ? `known: ${known.join(", ")}` : "it takes none"})`,
      );
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    const v = !Object.hasOwn(given, name) || given[name] === undefined ? spec.default : given[name];
    const bad = (why: string): never => {
      throw new ScheduleError(source, `params.${name}`, `${why}, got ${shown(v)}`);
    };
    switch (spec.type) {
      case "integer":
        if (!Number.isInteger(v)) bad(`must be an integer in ${range(spec)}`);
        if ((v as number) < spec.min || (spec.max !== undefined && (v as number) > spec.max)) bad(`must be an integer in ${range(spec)}`);
        if (spec.odd && (v as number) % 2 === 0) bad(`must be an odd integer in ${range(spec)}`);
        break;
      case "number":
        if (typeof v !== "number" || !Number.isFinite(v)) bad(`must be a number in ${range(spec)}`);
        if ((spec.minExclusive ? (v as number) <= spec.min : (v as number) < spec.min) || (spec.max !== undefined && (v as number) > spec.max))
          bad(`must be a number in ${range(spec)}`);
        break;
      case "boolean":
        if (typeof v !== "boolean") bad("must be true or false");
        break;
      case "enum":
        if (typeof v !== "string" || !spec.values.includes(v)) bad(`must be one of ${spec.values.map((x) => `"${x}"`).join(", ")}`);
        break;
    }
    out[name] = v as ParamValue;
  }
  return out as ParamsOf<S>;
}

/** Defaults of a spec set (documentation, UI). */
export function defaultParams(specs: ParamSpecs): Record<string, ParamValue> {
  return Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, s.default]));
}

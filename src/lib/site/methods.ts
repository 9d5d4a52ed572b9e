// Per-method facts for the pages, all from the schedule registry (src/lib/schedules/registry.ts) and the one
// method-spec grammar (src/lib/schedules/spec.ts): which of a page's controls are parameters of a method,
// the sweep label of (method, parameters), which methods take a parameter, which method is the full-cache
// reference. Pages and site helpers ask here instead of comparing method names.
import { getMethod, listMethods, type MethodInfo } from "../schedules/index.js";
import { printMethodSpec } from "../schedules/spec.js";

export type ParamValue = number | boolean | string;

/** The registry's facts of one method (name, kind, needsStats, needsLowRank, params, defaults). */
export function methodInfo(name: string): MethodInfo {
  const info = listMethods().find((m) => m.name === getMethod(name).name);
  if (!info) throw new Error(`method ${JSON.stringify(name)} is not listed by the registry`);
  return info;
}

/** Methods that take a parameter (e.g. "sigma"), in registry order. */
export const methodsWithParam = (param: string): MethodInfo[] => listMethods().filter((m) => Object.hasOwn(m.params, param));

/** Names of the methods that ignore the budget and keep the full cache (the quality reference). */
export const referenceMethods = (): string[] =>
  listMethods()
    .filter((m) => getMethod(m.name).fullBudget)
    .map((m) => m.name);

/** Methods a page can compress with (every method but the full-cache reference). */
export const compressingMethods = (): string[] => {
  const ref = referenceMethods();
  return listMethods()
    .map((m) => m.name)
    .filter((m) => !ref.includes(m));
};

/**
 * The page's control values that are parameters of `method` (undefined = the method's default): e.g.
 * {sigma: 2, rankRatio: undefined} → {sigma: 2} for heatkv, {} for h2o.
 */
export function methodParams(method: string, controls: Record<string, ParamValue | undefined>): Record<string, ParamValue> {
  const { params } = methodInfo(method);
  return Object.fromEntries(Object.entries(controls).filter((e): e is [string, ParamValue] => e[1] !== undefined && Object.hasOwn(params, e[0])));
}

/** Parameters that differ from the method's defaults, in the order the method declares them. */
export function nonDefaultParams(method: string, params: Record<string, ParamValue>): Record<string, ParamValue> {
  const info = methodInfo(method);
  return Object.fromEntries(
    Object.keys(info.params)
      .filter((k) => params[k] !== undefined && params[k] !== info.defaults[k])
      .map((k) => [k, params[k]]),
  );
}

/** The sweep's label of a method at these parameters: "heatkv", "heatkv:sigma=1", "heatkv+recalkv:rankRatio=0.25,sigma=1". */
export const sweepLabel = (method: string, params: Record<string, ParamValue> = {}): string => printMethodSpec(method, nonDefaultParams(method, params));

/** "recalkv 0, heatkv+recalkv 0.5": the defaults of a parameter over the methods that take it. */
export const paramDefaults = (param: string): string =>
  methodsWithParam(param)
    .map((m) => `${m.name} ${m.defaults[param]}`)
    .join(", ");

/** A parameter's default when every method taking it agrees (the initial value of a shared control). */
export function sharedDefault(param: string): ParamValue {
  const values = [...new Set(methodsWithParam(param).map((m) => m.defaults[param]))];
  if (values.length !== 1) throw new Error(`methods disagree on the default of ${param}: ${paramDefaults(param)}`);
  return values[0];
}

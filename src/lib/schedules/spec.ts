/**
 * The one method-spec grammar (CLI, sweep, tune, URL state, pages):
 *
 *   spec  = method [":" param ("," param)*]        e.g. "heatkv", "heatkv:sigma=1,strict=true"
 *   param = name "=" value                          value: true | false | a number | a word
 *   list  = spec ("," spec)*                        e.g. "heatkv:sigma=1,strict=true,h2o,recalkv:sigma=0"
 *
 * A method name never contains "=" and a parameter always does, so in a list a comma followed by
 * `name=` continues the previous spec's parameters and any other comma starts a new spec. Method names may
 * contain "+" ("heatkv+recalkv"); "+" between parameters ("heatkv:sigma=1+strict=true") is accepted as a
 * comma (the older CLI form). printMethodSpec gives the canonical label (parameters as given, in order).
 */
import { ScheduleError } from "./errors.js";
import { getMethod } from "./registry.js";

export interface MethodSpec {
  /** canonical form, e.g. "heatkv:sigma=1" (the sweep's label) */
  label: string;
  method: string;
  params: Record<string, number | boolean | string>;
}

const PARAM_RE = /^([A-Za-z_]\w*)=(.*)$/s;
const PARAM_START = /^\s*[A-Za-z_]\w*\s*=/;

/** "1" → 1, "true" → true, "abc" → "abc" (the method's parameter specs then check the type). */
export function parseParamValue(v: string): number | boolean | string {
  const t = v.trim();
  if (t === "true") return true;
  if (t === "false") return false;
  return t !== "" && Number.isFinite(Number(t)) ? Number(t) : t;
}

/** ["sigma=1", "strict=true"] → {sigma: 1, strict: true}; a repeated or malformed parameter is an error. */
export function parseParamPairs(pairs: readonly string[], source = "params"): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const p of pairs) {
    const m = PARAM_RE.exec(p.trim());
    if (!m) throw new ScheduleError(source, "params", `expected name=value, got ${JSON.stringify(p)}`);
    if (Object.hasOwn(out, m[1]))
      throw new ScheduleError(source, `params.${m[1]}`, `is given twice (${JSON.stringify(`${m[1]}=${out[m[1]]}`)} and ${JSON.stringify(p.trim())})`);
    out[m[1]] = parseParamValue(m[2]);
  }
  return out;
}

/** The canonical label of a method and its (given) parameters. */
export function printMethodSpec(method: string, params: Record<string, unknown> = {}): string {
  const pairs = Object.entries(params).map(([k, v]) => `${k}=${v}`);
  return pairs.length ? `${method}:${pairs.join(",")}` : method;
}

/** "heatkv:sigma=1,strict=true" → {method, params, label}; the method must be registered. */
export function parseMethodSpec(spec: string, source = "method"): MethodSpec {
  const text = spec.trim();
  const i = text.indexOf(":");
  const name = (i < 0 ? text : text.slice(0, i)).trim();
  const method = getMethod(name, source).name;
  const rest = i < 0 ? "" : text.slice(i + 1);
  const pairs = rest
    .split(/[,+](?=\s*[A-Za-z_]\w*\s*=)/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (i >= 0 && pairs.length === 0)
    throw new ScheduleError(source, "params", `nothing follows ":" in ${JSON.stringify(spec)} (write e.g. "${method}:sigma=1")`);
  const params = parseParamPairs(pairs, source);
  return { label: printMethodSpec(method, params), method, params };
}

/** "heatkv:sigma=1,strict=true,h2o" → two specs (see the grammar above). */
export function parseMethodSpecList(list: string, source = "methods"): MethodSpec[] {
  const specs: string[] = [];
  for (const part of list.split(",")) {
    if (specs.length && PARAM_START.test(part)) specs[specs.length - 1] += `,${part}`;
    else specs.push(part);
  }
  const out = specs.filter((s) => s.trim() !== "").map((s) => parseMethodSpec(s, source));
  if (!out.length) throw new ScheduleError(source, "methods", `no method given in ${JSON.stringify(list)}`);
  return out;
}

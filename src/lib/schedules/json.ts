/**
 * Schedule ⇄ JSON ("heatkv-schedule/1", docs/schedule-format.md). Export writes the explicit keep lists
 * (static) or counts + rules (dynamic) for every (target scale, layer, head); import validates with the
 * JSON Schema (ajv) and then semantically against the model, and fails with ONE line naming the field:
 *   schedule.json: field "budget.ratio" must be in (0, 1], got 1.5
 * Round trip: importSchedule(exportSchedule(s), model) deep-equals s.
 * Also: the HeatKV reference repo's orders JSON (arm-research/heatkv orders/2b.json format).
 */
import * as ajvModule from "ajv";
import type { ErrorObject, Options, ValidateFunction } from "ajv";
import { scheduleJsonSchema } from "../schema/schedule.schema.js";
import type { ScheduleJson } from "../schema/schedule.js";
import { modelShape } from "../model/index.js";
import type { LowRankManifest } from "../model/index.js";
import { type Budget, checkBudget } from "./budget.js";
import { ScheduleError, shown } from "./errors.js";
import type { ReferenceOrders } from "./methods/heatkv.js";
import { resolveParams } from "./params.js";
import { METHOD_NAMES, getMethod } from "./registry.js";
import { SCHEDULE_VERSION, type Schedule, type ScorerName, checkScheduleModel, checkScheduleSemantics, maskScales, numHeadsTotal } from "./schedule.js";
import { type ScheduleModel, checkedShape } from "./shape.js";

/** In-memory schedule → JSON object. */
export function exportSchedule(s: Schedule): ScheduleJson {
  const shape = checkedShape(s.model);
  const { numLayers: L, numHeads: H } = s.model;
  const N = L * H;
  const grid = <T>(f: (lh: number) => T): T[][] => Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => f(l * H + h)));
  const common = {
    version: SCHEDULE_VERSION as typeof SCHEDULE_VERSION,
    model: {
      id: s.model.modelId,
      configHash: s.model.configHash,
      patchNums: [...s.model.patchNums],
      tokensPerScale: [...shape.tokensPerScale],
      numLayers: L,
      numHeads: H,
      headDim: s.model.headDim,
      maxCacheTokens: shape.maxCacheTokens,
    },
    method: s.method,
    params: { ...s.params },
    budget: { ...s.budget },
    ...(s.lowRank ? { lowRank: structuredClone(s.lowRank) } : {}),
  };
  const targets = Array.from({ length: shape.numScales - 1 }, (_, i) => i + 1);
  if (s.kind === "static") {
    return {
      ...common,
      kind: "static",
      targets: targets.map((t) => ({ scale: t, keep: grid((lh) => maskScales(s.keep[t * N + lh])) })),
      details: structuredClone(s.details),
    };
  }
  return {
    ...common,
    kind: "dynamic",
    scorer: { ...s.scorer },
    rules: grid((lh) => s.rules[lh]),
    targets: targets.map((t) => ({ scale: t, count: grid((lh) => s.counts[t * N + lh]) })),
    details: structuredClone(s.details),
  };
}

/** JSON text with the innermost arrays on one line (readable, ~compact). */
export function stringifySchedule(s: Schedule): string {
  return formatJson(exportSchedule(s)) + "\n";
}

function formatJson(v: unknown, indent = ""): string {
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== "object")) return JSON.stringify(v);
    if (v.every((x) => Array.isArray(x) && x.every((y) => y === null || typeof y !== "object")) && v.length <= 64)
      return `[${v.map((x) => JSON.stringify(x)).join(", ")}]`;
    return `[\n${v.map((x) => inner + formatJson(x, inner)).join(",\n")}\n${indent}]`;
  }
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return "{}";
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${formatJson(x, inner)}`).join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(v);
}

let validator: ValidateFunction | undefined;
function validate(value: unknown): ErrorObject | undefined {
  validator ??= new AjvClass({ allErrors: false, verbose: true, strict: true, strictTypes: false }).compile(SCHEDULE_JSON_SCHEMA);
  return validator(value) ? undefined : (validator.errors ?? [])[0];
}

/** "/targets/0/keep/2/1" → "targets[0].keep[2][1]" */
function fieldOf(path: string): string {
  return path
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

function rangeText(schema: Record<string, unknown>): string {
  const lo = schema.exclusiveMinimum !== undefined ? `(${schema.exclusiveMinimum}` : schema.minimum !== undefined ? `[${schema.minimum}` : "(-∞";
  const hi = schema.exclusiveMaximum !== undefined ? `${schema.exclusiveMaximum})` : schema.maximum !== undefined ? `${schema.maximum}]` : "∞)";
  const kind = schema.type === "integer" ? "an integer " : "";
  return hi === "∞)" && lo !== "(-∞" ? `must be ${kind}${lo.startsWith("(") ? ">" : "≥"} ${lo.slice(1)}` : `must be ${kind}in ${lo}, ${hi}`;
}

/**
 * ajv is CommonJS: Node exposes its class as the named export `Ajv`, while the page bundle Framework makes
 * of it (dist/_node/ajv@…) has only `default` (module.exports, whose `.default` is the class too).
 */
type AjvCtor = new (o: Options) => { compile(schema: unknown): ValidateFunction };
/** The JSON Schema of the format for the registered methods (written out as src/lib/schema/schedule.schema.json). */
export const SCHEDULE_JSON_SCHEMA = scheduleJsonSchema(METHOD_NAMES);

const ajvAny = ajvModule as unknown as { Ajv?: AjvCtor; default?: AjvCtor & { default?: AjvCtor } };
const AjvClass: AjvCtor = ajvAny.Ajv ?? ajvAny.default?.default ?? (ajvAny.default as AjvCtor);

function ajvError(e: ErrorObject, source: string): ScheduleError {
  const field = fieldOf(e.instancePath);
  const got = `, got ${shown(e.data)}`;
  const ps = (e.parentSchema ?? {}) as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return new ScheduleError(source, field ? `${field}.${e.params.missingProperty}` : e.params.missingProperty, "is required");
    case "additionalProperties":
      return new ScheduleError(
        source,
        field ? `${field}.${e.params.additionalProperty}` : e.params.additionalProperty,
        `is not part of the ${SCHEDULE_VERSION} format`,
      );
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return new ScheduleError(source, field, rangeText(ps) + got);
    case "type":
      return new ScheduleError(
        source,
        field,
        (ps.minimum !== undefined || ps.exclusiveMinimum !== undefined ? rangeText(ps) : `must be ${[e.params.type].flat().join(" or ")}`) + got,
      );
    case "const":
      return new ScheduleError(source, field, `must be ${shown(e.params.allowedValue)}${got}`);
    case "enum":
      return new ScheduleError(source, field, `must be one of ${(e.params.allowedValues as unknown[]).map((x) => shown(x)).join(", ")}${got}`);
    case "false schema":
      return new ScheduleError(source, field, "must not be present for this kind of schedule");
    case "minItems":
    case "maxItems":
      return new ScheduleError(source, field, `${e.message}${got}`);
    default:
      return new ScheduleError(source, field || "(root)", `${e.message ?? "is invalid"}${got}`);
  }
}

/** The deepest nesting a schedule file has (details.orders: 4); deeper values are refused before recursing. */
export const MAX_JSON_DEPTH = 32;

/** Refuse values nested deeper than MAX_JSON_DEPTH (iteratively, so a hostile file cannot overflow the stack). */
function checkDepth(value: unknown, source: string): void {
  const stack: [unknown, number, string][] = [[value, 0, ""]];
  while (stack.length) {
    const [v, d, path] = stack.pop() as [unknown, number, string];
    if (v === null || typeof v !== "object") continue;
    if (d >= MAX_JSON_DEPTH) throw new ScheduleError(source, path || "(root)", `is nested more than ${MAX_JSON_DEPTH} levels deep (a schedule never is)`);
    if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, d + 1, `${path}[${i}]`]));
    else for (const [k, x] of Object.entries(v)) stack.push([x, d + 1, path ? `${path}.${k}` : k]);
  }
}

/**
 * JSON value → Schedule, checked against `model` (the loaded model's config) when given; otherwise
 * against the model the file describes; a low-rank part also against `lowRank` (the model's recalkv.json)
 * when given. Throws one ScheduleError line naming the field.
 */
export function importSchedule(value: unknown, model?: ScheduleModel, source = "schedule.json", lowRank?: LowRankManifest): Schedule {
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new ScheduleError(source, "(root)", `must be a JSON object, got ${shown(value)}`);
  checkDepth(value, source);
  const v = value as Record<string, unknown>;
  if (v.version !== SCHEDULE_VERSION) throw new ScheduleError(source, "version", `must be "${SCHEDULE_VERSION}", got ${shown(v.version)}`);
  const err = validate(value);
  if (err) throw ajvError(err, source);
  const j = value as ScheduleJson;
  const fileModel: ScheduleModel = {
    modelId: j.model.id,
    configHash: j.model.configHash,
    patchNums: [...j.model.patchNums],
    numLayers: j.model.numLayers,
    numHeads: j.model.numHeads,
    headDim: j.model.headDim,
  };
  const shape = checkedShape(fileModel, source);
  const derived = modelShape(fileModel);
  if (j.model.tokensPerScale.join() !== derived.tokensPerScale.join())
    throw new ScheduleError(
      source,
      "model.tokensPerScale",
      `must be the squares of patchNums ${shown(derived.tokensPerScale)}, got ${shown(j.model.tokensPerScale)}`,
    );
  if (j.model.maxCacheTokens !== derived.maxCacheTokens)
    throw new ScheduleError(
      source,
      "model.maxCacheTokens",
      `must be Σ n_s over all but the last scale = ${derived.maxCacheTokens}, got ${j.model.maxCacheTokens}`,
    );
  if (model) checkScheduleModel({ model: fileModel }, model, source);
  const method = getMethod(j.method, source);
  if (method.kind !== j.kind) throw new ScheduleError(source, "kind", `must be "${method.kind}" for method "${j.method}", got ${shown(j.kind)}`);
  const params = resolveParams(j.method, method.params, j.params, source);
  const budget: Budget = { ...j.budget };
  checkBudget(budget, fileModel, source);
  if (method.fullBudget && budget.ratio !== 1)
    throw new ScheduleError(source, "budget.ratio", `must be 1 for method "${j.method}" (the full cache), got ${budget.ratio}`);
  const K = shape.numScales;
  const { numLayers: L, numHeads: H } = fileModel;
  const N = numHeadsTotal(fileModel);
  if (j.targets.length !== K - 1) throw new ScheduleError(source, "targets", `must list the ${K - 1} target scales 1..${K - 1}, got ${j.targets.length}`);
  const checkGrid = (g: unknown[], field: string) => {
    if (g.length !== L) throw new ScheduleError(source, field, `must have one entry per layer (${L}), got ${g.length}`);
    g.forEach((row, l) => {
      if ((row as unknown[]).length !== H)
        throw new ScheduleError(source, `${field}[${l}]`, `must have one entry per head (${H}), got ${(row as unknown[]).length}`);
    });
  };
  j.targets.forEach((tg, i) => {
    if (tg.scale !== i + 1) throw new ScheduleError(source, `targets[${i}].scale`, `must be ${i + 1} (targets in order 1..${K - 1}), got ${tg.scale}`);
  });
  if (method.needsLowRank && !j.lowRank)
    throw new ScheduleError(source, "lowRank", `is required for method "${j.method}" (the ReCalKV variant, latent widths and head groups)`);
  if (!method.needsLowRank && j.lowRank) throw new ScheduleError(source, "lowRank", `must not be present for method "${j.method}" (full-width cache)`);
  const common = {
    version: SCHEDULE_VERSION,
    model: fileModel,
    method: j.method,
    params,
    budget,
    details: structuredClone(j.details),
    ...(j.lowRank ? { lowRank: structuredClone(j.lowRank) } : {}),
  } as const;
  let schedule: Schedule;
  if (j.kind === "static") {
    const keep = new Uint32Array(K * N);
    j.targets.forEach((tg, i) => {
      const t = tg.scale;
      checkGrid(tg.keep, `targets[${i}].keep`);
      tg.keep.forEach((row, l) =>
        row.forEach((list, h) => {
          let m = 0;
          list.forEach((s, k) => {
            const f = `targets[${i}].keep[${l}][${h}][${k}]`;
            if (s >= t) throw new ScheduleError(source, f, `must be a source scale < ${t} (the target), got ${s}`);
            if (k > 0 && s <= list[k - 1]) throw new ScheduleError(source, f, `keep lists must be strictly ascending, got ${s} after ${list[k - 1]}`);
            m |= 1 << s;
          });
          keep[t * N + l * H + h] = m >>> 0;
        }),
      );
    });
    schedule = { ...common, kind: "static", keep };
  } else {
    checkGrid(j.rules, "rules");
    const counts = new Int32Array(K * N);
    j.targets.forEach((tg, i) => {
      checkGrid(tg.count, `targets[${i}].count`);
      const avail = shape.cacheTokensEntering[tg.scale];
      tg.count.forEach((row, l) =>
        row.forEach((c, h) => {
          // checked before the Int32Array store, which would wrap 2^32 + 1 to 1
          if (c > avail)
            throw new ScheduleError(
              source,
              `targets[${i}].count[${l}][${h}]`,
              `count ${c} exceeds the ${avail} entries that can exist entering scale ${tg.scale} (C_t, every earlier scale)`,
            );
          counts[tg.scale * N + l * H + h] = c;
        }),
      );
    });
    schedule = { ...common, kind: "dynamic", counts, rules: j.rules.flat() as ScorerName[], scorer: { ...j.scorer } };
  }
  checkScheduleSemantics(schedule, source, lowRank);
  method.verify?.(schedule, params, source);
  return schedule;
}

/** JSON text → Schedule (see importSchedule). */
export function parseScheduleJson(text: string, model?: ScheduleModel, source = "schedule.json", lowRank?: LowRankManifest): Schedule {
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text); // a UTF-8 byte-order mark is not an error
  } catch (e) {
    throw new ScheduleError(source, "(root)", `is not valid JSON (${(e as Error).message})`);
  }
  return importSchedule(value, model, source, lowRank);
}

/** HeatKV orders of a heatkv schedule in the reference repo's format ([head, layer] per s = σ..K−2). */
export function referenceOrders(s: Schedule): ReferenceOrders {
  if (s.method !== "heatkv") throw new ScheduleError("schedule", "method", `must be "heatkv" to export HeatKV orders, got ${shown(s.method)}`);
  return structuredClone(s.details.orders as ReferenceOrders);
}

/** The reference orders as JSON text (4-space indent like arm-research/heatkv orders/2b.json). */
export function stringifyReferenceOrders(s: Schedule): string {
  return JSON.stringify(referenceOrders(s), null, 4);
}

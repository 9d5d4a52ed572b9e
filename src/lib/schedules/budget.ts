/**
 * Budgets: how much of the full KV cache a schedule may hold at any target scale.
 *
 * Denominator (always): the full cache of ONE image incl. both CFG rows,
 *   bytes = 2 (K,V) · L · H · d · C_max · bytesPerElement · rows,   token slots = L · H · C_max.
 * A budget may be given as a fraction ("0.1"), a percentage ("10%"), a size ("2MB", "2MiB", "500kB",
 * "1234B"; decimal kB/MB/GB = 10^3/10^6/10^9, binary KiB/MiB/GiB = 2^10/2^20/2^30) or a token count
 * ("15000tok" = kept entries summed over all (layer, head)); all become `ratio` of that denominator.
 */
import { type BytesPerElement, fullCacheBytes, fullCacheTokens } from "../model/index.js";
import { ScheduleError, groupDigits, humanBytes, percent, shown } from "./errors.js";

export { type BytesPerElement, fullCacheBytes, fullCacheTokens };
import { type ScheduleModel, checkedShape } from "./shape.js";

export type BudgetUnit = "ratio" | "percent" | "bytes" | "tokens";

export interface Budget {
  /** the budget as the user wrote it */
  given: string;
  unit: BudgetUnit;
  /** fraction of the full cache, in (0, 1] */
  ratio: number;
  /** ratio · L · H · C_max: kept entries summed over all (layer, head) allowed at any target scale */
  tokens: number;
  /** ratio · full bytes */
  bytes: number;
  bytesPerElement: BytesPerElement;
  rows: number;
  /** the denominator in words */
  denominator: string;
}

export interface BudgetOptions {
  /** 4 = fp32 (default, what the runtime stores), 2 = fp16 */
  bytesPerElement?: BytesPerElement;
  /** batch rows sharing the cache: 2 with CFG (default) */
  rows?: number;
  /** names the origin in errors (default "budget") */
  source?: string;
  /** names the field in errors (default "budget") */
  field?: string;
}

/** "full KV cache of one image: 2 (K,V) × 6 layers × 8 heads × 16 dims × 91 tokens (C_max) × 4 B (fp32) × 2 CFG rows = 745,472 B (728 KiB) = 4,368 token slots" */
export function describeDenominator(model: ScheduleModel, bytesPerElement: BytesPerElement = 4, rows = 2): string {
  const shape = checkedShape(model);
  const bytes = fullCacheBytes(model, bytesPerElement, rows);
  const dtype = bytesPerElement === 4 ? "fp32" : "fp16";
  return (
    `full KV cache of one image: 2 (K,V) × ${model.numLayers} layers × ${model.numHeads} heads × ${model.headDim} dims × ` +
    `${shape.maxCacheTokens} tokens (C_max) × ${bytesPerElement} B (${dtype}) × ${rows} CFG row${rows === 1 ? "" : "s"} = ` +
    `${groupDigits(bytes)} B (${humanBytes(bytes)}) = ${groupDigits(fullCacheTokens(model))} token slots`
  );
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const NUMBER = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?`;
const BUDGET_RE = new RegExp(String.raw`^\s*(${NUMBER})\s*(%|b|kb|mb|gb|kib|mib|gib|tok|tokens?)?\s*$`, "i");
const FORMS = `a fraction ("0.1"), a percentage ("10%"), a size ("2MB", "2MiB", "500kB", "1234B") or a token count ("15000tok")`;

/** Parse a budget and express it against the full cache; throws one ScheduleError line on bad input. */
export function parseBudget(input: string | number, model: ScheduleModel, opts: BudgetOptions = {}): Budget {
  const source = opts.source ?? "budget";
  const field = opts.field ?? "budget";
  const bytesPerElement = opts.bytesPerElement ?? 4;
  const rows = opts.rows ?? 2;
  if (bytesPerElement !== 2 && bytesPerElement !== 4)
    throw new ScheduleError(source, "bytesPerElement", `must be 4 (fp32) or 2 (fp16), got ${shown(bytesPerElement)}`);
  if (!Number.isInteger(rows) || rows <= 0) throw new ScheduleError(source, "rows", `must be a positive integer, got ${shown(rows)}`);
  const given = typeof input === "number" ? String(input) : input;
  const fail = (why: string): never => {
    throw new ScheduleError(source, field, `${why}, got ${shown(given)}`);
  };
  if (typeof input !== "string" && typeof input !== "number") fail(`must be ${FORMS}`);
  if (typeof input === "number" && !Number.isFinite(input)) fail("must be a finite number");
  const m = BUDGET_RE.exec(given);
  if (!m) return fail(`must be ${FORMS}`);
  const value = Number(m[1]);
  const suffix = (m[2] ?? "").toLowerCase();
  if (!Number.isFinite(value)) fail(`must be ${FORMS}`);
  if (value < 0) fail("must be positive (a negative budget means nothing)");
  if (value === 0) fail("must be > 0 (a zero budget keeps no cache at all)");
  checkedShape(model, source);
  const fullBytes = fullCacheBytes(model, bytesPerElement, rows);
  const fullTokens = fullCacheTokens(model);
  const denominator = describeDenominator(model, bytesPerElement, rows);
  let unit: BudgetUnit;
  let ratio: number;
  if (suffix === "") {
    unit = "ratio";
    if (value > 1) fail(`a bare number is a fraction of the full cache and must be in (0, 1] (did you mean "${value}%"?)`);
    ratio = value;
  } else if (suffix === "%") {
    unit = "percent";
    ratio = value / 100;
  } else if (suffix.startsWith("tok")) {
    unit = "tokens";
    if (!Number.isInteger(value)) fail("must be a whole number of tokens");
    ratio = value / fullTokens;
  } else {
    unit = "bytes";
    const bytes = value * SIZE_UNITS[suffix];
    if (!Number.isInteger(bytes)) fail("must be a whole number of bytes");
    ratio = bytes / fullBytes;
  }
  if (ratio > 1) fail(`must be at most 100% of the ${denominator} (it is ${percent(ratio)})`);
  if (ratio * fullTokens < 1)
    fail(
      `keeps less than one cache entry (${ratio * fullTokens} of ${groupDigits(fullTokens)} token slots); the smallest budget is 1tok = ${percent(1 / fullTokens)}`,
    );
  return { given, unit, ratio, tokens: ratio * fullTokens, bytes: ratio * fullBytes, bytesPerElement, rows, denominator };
}

/** "5%,10%,2MB,0.2" → one Budget per item (the same grammar as parseBudget; items separated by ","). */
export function parseBudgetList(input: string, model: ScheduleModel, opts: BudgetOptions = {}): Budget[] {
  const items = input.split(",").map((p) => p.trim());
  if (items.some((p) => p === ""))
    throw new ScheduleError(opts.source ?? "budget", opts.field ?? "budgets", `has an empty item, got ${shown(input)} (write e.g. "5%,10%,20%")`);
  return items.map((p) => parseBudget(p, model, opts));
}

/** Largest whole number of kept entries (summed over heads) within the budget at one target scale. */
export function budgetTokenLimit(budget: Budget): number {
  return Math.floor(budget.tokens + 1e-9);
}

/** Check a Budget object (e.g. read from JSON) against the model: ratio in (0, 1] and consistent fields. */
export function checkBudget(b: Budget, model: ScheduleModel, source: string, prefix = "budget"): void {
  const f = (k: string) => `${prefix}.${k}`;
  if (typeof b.ratio !== "number" || !(b.ratio > 0 && b.ratio <= 1)) throw new ScheduleError(source, f("ratio"), `must be in (0, 1], got ${shown(b.ratio)}`);
  if (b.bytesPerElement !== 2 && b.bytesPerElement !== 4)
    throw new ScheduleError(source, f("bytesPerElement"), `must be 4 (fp32) or 2 (fp16), got ${shown(b.bytesPerElement)}`);
  if (!Number.isInteger(b.rows) || b.rows <= 0) throw new ScheduleError(source, f("rows"), `must be a positive integer, got ${shown(b.rows)}`);
  const again = parseBudget(b.given, model, { bytesPerElement: b.bytesPerElement, rows: b.rows, source, field: f("given") });
  const close = (a: number, c: number) => Math.abs(a - c) <= 1e-9 * Math.max(1, Math.abs(c));
  if (!close(again.ratio, b.ratio)) throw new ScheduleError(source, f("ratio"), `is ${b.ratio} but budget.given ${shown(b.given)} means ${again.ratio}`);
  if (!close(again.tokens, b.tokens))
    throw new ScheduleError(source, f("tokens"), `is ${b.tokens} but ratio ${b.ratio} of the full cache is ${again.tokens} token slots`);
  if (!close(again.bytes, b.bytes)) throw new ScheduleError(source, f("bytes"), `is ${b.bytes} but ratio ${b.ratio} of the full cache is ${again.bytes} B`);
  if (again.unit !== b.unit) throw new ScheduleError(source, f("unit"), `is ${shown(b.unit)} but budget.given ${shown(b.given)} is in ${shown(again.unit)}`);
  if (again.denominator !== b.denominator)
    throw new ScheduleError(source, f("denominator"), `does not describe this model's full cache (expected ${shown(again.denominator)})`);
}

/**
 * One error type for everything under src/lib/schedules: a single line that names where the value came
 * from (`source`, e.g. "schedule.json", "--budget", "params") and the offending field.
 *   schedule.json: field "budget.ratio" must be in (0, 1], got 1.5
 */
export class ScheduleError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${source}: field "${field}" ${detail}`);
    this.name = "ScheduleError";
  }
}

/** Short JSON rendering of a value for error messages. */
export function shown(v: unknown): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : String(v);
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** 1234567 → "1,234,567" (locale-independent). */
export function groupDigits(n: number): string {
  const neg = n < 0;
  const [int, frac] = Math.abs(n).toString().split(".");
  const g = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (neg ? "-" : "") + g + (frac ? `.${frac}` : "");
}

/** Human byte size with binary units: 745472 → "728 KiB". */
export function humanBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const txt = u === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${txt.replace(/\.0+$|(\.\d*?)0+$/, "$1")} ${units[u]}`;
}

/** 0.153846 → "15.38%" (enough digits to be unambiguous, trailing zeros dropped). */
export function percent(ratio: number, digits = 2): string {
  return `${(ratio * 100).toFixed(digits).replace(/\.?0+$/, "")}%`;
}

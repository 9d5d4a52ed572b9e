// Formatting and a tiny typed table renderer for pages (no dependency on Inputs).

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes,
    u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) ((v /= 1024), ++u);
  return `${u === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatNumber(v: number, digits = 4): string {
  return Number.isInteger(v) ? v.toLocaleString("en-US") : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toPrecision(digits);
}

export interface Column<T> {
  key: keyof T & string;
  label?: string;
  format?: (value: T[keyof T], row: T) => string;
  align?: "left" | "right";
}

/** A plain HTML table; `data-rows` carries the row count for tests. */
export function renderTable<T extends object>(rows: readonly T[], columns: readonly Column<T>[], { caption }: { caption?: string } = {}): HTMLTableElement {
  const table = document.createElement("table");
  table.className = "heatkv-table";
  table.dataset.rows = String(rows.length);
  if (caption) table.createCaption().textContent = caption;
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement("th");
    th.textContent = c.label ?? c.key;
    th.style.textAlign = c.align ?? "left";
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const c of columns) {
      const td = tr.insertCell();
      const v = row[c.key];
      td.textContent = c.format ? c.format(v, row) : typeof v === "number" ? formatNumber(v) : String(v);
      td.style.textAlign = c.align ?? (typeof v === "number" ? "right" : "left");
    }
  }
  return table;
}

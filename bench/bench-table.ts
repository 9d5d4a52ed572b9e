// The one table format of `npm run bench` (and `npm run bench:explorer`).
export interface Row {
  bench: string;
  backend: string;
  value: string;
  detail: string;
  goal: string;
  ok: string;
}

export function printTable(rows: Row[]) {
  const cols = ["bench", "backend", "value", "detail", "goal", "ok"] as const;
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(" | ")} |`;
  console.log(line([...cols]));
  console.log(`|${w.map((x) => "-".repeat(x + 2)).join("|")}|`);
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
}

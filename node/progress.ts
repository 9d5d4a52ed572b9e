/** A one-line progress bar with ETA on stderr (plain lines when stderr is not a TTY). */
export class Progress {
  private start = Date.now();
  private done = 0;
  private lastPrint = 0;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  tick(note = ""): void {
    this.done++;
    const now = Date.now();
    const last = this.done === this.total;
    if (!last && this.stream.isTTY !== true && now - this.lastPrint < 15000) return; // logs: a line every 15 s
    this.lastPrint = now;
    const el = (now - this.start) / 1000;
    const eta = this.done ? (el / this.done) * (this.total - this.done) : 0;
    const w = 24;
    const fill = Math.round((w * this.done) / this.total);
    const line = `${this.label} [${"#".repeat(fill)}${"-".repeat(w - fill)}] ${this.done}/${this.total} ${fmtSec(el)} elapsed, ETA ${fmtSec(eta)} ${note}`;
    if (this.stream.isTTY) this.stream.write(`\r${line.padEnd(100)}${last ? "\n" : ""}`);
    else this.stream.write(line + "\n");
  }
}

export function fmtSec(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
}

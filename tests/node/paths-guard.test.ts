// node/paths-guard.ts: an output that is one of the inputs — by name, through a symlink, or as a hard link
// (same dev/ino) — or anything in the model folder, or another output, is refused naming both paths.
import { linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { guardOutputs } from "../../node/paths-guard.js";

const dir = mkdtempSync(join(tmpdir(), "heatkv-guard-"));
const model = join(dir, "model");
mkdirSync(join(model, "recalkv"), { recursive: true });
writeFileSync(join(model, "config.json"), "{}");
writeFileSync(join(model, "recalkv", "step_r25.onnx"), "g");
const stats = join(dir, "st.parquet");
writeFileSync(stats, "PAR1");

describe("output guard", () => {
  it("refuses an output that is an input (same path, relative spelling, symlink, hard link)", () => {
    const inputs = [{ path: stats, what: "--stats" }];
    expect(() => guardOutputs({ inputs, outputs: [{ path: stats, what: "--out" }] })).toThrow(
      `--out ${stats} is the input --stats ${stats}: refusing to overwrite an input`,
    );
    expect(() => guardOutputs({ inputs, outputs: [{ path: join(dir, ".", "x", "..", "st.parquet"), what: "--out" }] })).toThrow(/is the input --stats/);
    symlinkSync(stats, join(dir, "sym.parquet"));
    expect(() => guardOutputs({ inputs, outputs: [{ path: join(dir, "sym.parquet"), what: "--out" }] })).toThrow(/sym\.parquet is the input --stats/);
    linkSync(stats, join(dir, "hard.parquet"));
    expect(() => guardOutputs({ inputs, outputs: [{ path: join(dir, "hard.parquet"), what: "--out" }] })).toThrow(/hard\.parquet is the input --stats/);
    // a symlinked folder on the way to an output that does not exist yet
    symlinkSync(dir, join(dir, "again"));
    expect(() =>
      guardOutputs({ inputs: [{ path: join(dir, "new.json"), what: "--schedule" }], outputs: [{ path: join(dir, "again", "new.json"), what: "--out" }] }),
    ).toThrow(/is the input --schedule/);
    expect(() => guardOutputs({ inputs, outputs: [{ path: join(dir, "fine.json"), what: "--out" }] })).not.toThrow();
  });

  it("refuses anything in the model folder, and a hard link to a model file elsewhere", () => {
    const spec = (out: string) => ({ outputs: [{ path: out, what: "--out" }], modelDirs: [model] });
    expect(() => guardOutputs(spec(join(model, "config.json")))).toThrow(`--out ${join(model, "config.json")} is inside the model folder ${model}`);
    expect(() => guardOutputs(spec(join(model, "recalkv", "new.parquet")))).toThrow(/is inside the model folder/);
    linkSync(join(model, "recalkv", "step_r25.onnx"), join(dir, "graph.onnx"));
    expect(() => guardOutputs(spec(join(dir, "graph.onnx")))).toThrow(
      `--out ${join(dir, "graph.onnx")} is the model file ${join(model, "recalkv", "step_r25.onnx")} (a hard link or symlink to it)`,
    );
  });

  it("refuses two outputs that are the same file, and an empty output", () => {
    const a = join(dir, "a.json");
    expect(() =>
      guardOutputs({
        outputs: [
          { path: a, what: "--out" },
          { path: a, what: "--reference-orders" },
        ],
      }),
    ).toThrow(`--reference-orders ${a} and --out ${a} are the same file`);
    expect(() => guardOutputs({ outputs: [{ path: "", what: "--out" }] })).toThrow("--out: the output path is empty");
  });
});

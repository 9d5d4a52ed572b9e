// node/store-unit.ts: a store written as two files is one unit — a manifest written last names both files'
// sizes and sha256; a reader refuses a new file beside an old one (a kill between the renames) and companion
// files without a manifest, and accepts a single-file store (torch hook / synthetic statistics).
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkUnit, manifestPathFor, writeUnit } from "../../node/store-unit.js";

const fresh = () => mkdtempSync(join(tmpdir(), "heatkv-unit-"));
const pair = (dir: string) => ({ main: join(dir, "attention.parquet"), tokens: join(dir, "attention_tokens.parquet") });

describe("multi-file store unit", () => {
  it("writes both files and then the manifest; a whole unit passes the check", () => {
    const dir = fresh();
    const { main, tokens } = pair(dir);
    writeUnit(main, [
      { path: main, data: "scale v1" },
      { path: tokens, data: "tokens v1" },
    ]);
    expect(readdirSync(dir).sort()).toEqual(["attention.manifest.json", "attention.parquet", "attention_tokens.parquet"]);
    expect(JSON.parse(readFileSync(manifestPathFor(main), "utf8")).files.map((f: { name: string; bytes: number }) => [f.name, f.bytes])).toEqual([
      ["attention.parquet", 8],
      ["attention_tokens.parquet", 9],
    ]);
    expect(() => checkUnit(main, [tokens], "redo")).not.toThrow();
  });

  it("a kill between the two renames (new scale file beside the old tokens file) is refused, naming the file", () => {
    const dir = fresh();
    const { main, tokens } = pair(dir);
    writeUnit(main, [
      { path: main, data: "scale v1" },
      { path: tokens, data: "tokens v1" },
    ]);
    // what an interrupted second write leaves when the manifest is not rewritten: one new file, one old
    writeFileSync(`${main}.tmp`, "scale v2");
    renameSync(`${main}.tmp`, main);
    expect(() => checkUnit(main, [tokens], "rerun calibrate")).toThrow(`${main}: its sha256 differs from ${manifestPathFor(main)}`);
    writeFileSync(main, "scale v22");
    expect(() => checkUnit(main, [tokens], "rerun calibrate")).toThrow(/attention\.parquet: is 9 bytes, .* says 8: .*; rerun calibrate$/);
  });

  it("companion files without a manifest are refused; a single-file store is accepted", () => {
    const dir = fresh();
    const { main, tokens } = pair(dir);
    writeFileSync(main, "scale");
    expect(() => checkUnit(main, [tokens], "redo")).not.toThrow(); // torch-hook / synthetic: one file, no manifest
    writeFileSync(tokens, "tokens");
    expect(() => checkUnit(main, [tokens], "redo")).toThrow(`${main}: ${tokens} sits beside it but the manifest ${manifestPathFor(main)} is missing`);
  });

  it("a failed write leaves the old unit whole and no temp files", () => {
    const dir = fresh();
    const { main, tokens } = pair(dir);
    writeUnit(main, [
      { path: main, data: "scale v1" },
      { path: tokens, data: "tokens v1" },
    ]);
    // the second file cannot be written (its path is a folder): nothing is renamed, temp files are removed
    expect(() =>
      writeUnit(main, [
        { path: main, data: "scale v2" },
        { path: join(dir, "nofolder", "x", "t.parquet"), data: "t" },
      ]),
    ).toThrow(/t\.parquet: cannot write/);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(readFileSync(main, "utf8")).toBe("scale v1");
    expect(() => checkUnit(main, [tokens], "redo")).not.toThrow();
    expect(existsSync(manifestPathFor(main))).toBe(true);
  });
});

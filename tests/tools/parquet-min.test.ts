// tools/parquet_min.py (dependency-free Parquet writer) read back by DuckDB: types, values, pages, errors.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lastJson, python, pythonHas, skipUnlessAvailable, sql } from "./helpers.js";

const noPython = skipUnlessAvailable("tests/tools/parquet-min", pythonHas(["struct"]), "apt-get install python3");

describe.skipIf(noPython)("tools/parquet_min.py", () => {
  const dir = mkdtempSync(join(tmpdir(), "heatkv-pqmin-"));

  for (const [rows, pageRows, enc] of [
    [7, 65536, "plain"],
    [1000, 300, "plain"],
    [7, 65536, "dict"],
    [1000, 300, "dict"],
  ] as const) {
    it(`DuckDB reads INT32/DOUBLE/UTF8 columns as INTEGER/DOUBLE/VARCHAR with the exact values (${rows} rows, pages of ${pageRows}, strings ${enc})`, async () => {
      const file = join(dir, `t${rows}-${enc}.parquet`);
      const want = lastJson(python(["tools/parquet_min.py", file, String(rows), String(pageRows), enc]));
      const types = await sql(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
      expect(types.map((t) => [t.column_name, t.column_type])).toEqual([
        ["i", "INTEGER"],
        ["d", "DOUBLE"],
        ["s", "VARCHAR"],
      ]);
      const got = await sql(`SELECT * FROM read_parquet('${file}')`);
      expect(got.length).toBe(rows);
      expect(got.map((r) => r.i)).toEqual(want.i);
      expect(got.map((r) => r.d)).toEqual(want.d.map(Number)); // repr() round-trips doubles exactly
      expect(got.map((r) => r.s)).toEqual(want.s);
      const meta = await sql(`SELECT DISTINCT compression, type FROM parquet_metadata('${file}') ORDER BY type`);
      expect(meta.map((m) => m.compression)).toEqual(["UNCOMPRESSED", "UNCOMPRESSED", "UNCOMPRESSED"]);
      const encs = await sql(`SELECT path_in_schema AS c, encodings AS e FROM parquet_metadata('${file}') ORDER BY column_id`);
      expect(encs.map((r) => r.e)).toEqual(["PLAIN, RLE", "PLAIN, RLE", enc === "dict" ? "PLAIN, RLE, RLE_DICTIONARY" : "PLAIN, RLE"]);
      const kv = await sql(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${file}')`);
      expect(kv).toEqual([{ k: "heatkv.test", v: "1" }]);
    });
  }

  it("rejects ragged columns and leaves no file behind", () => {
    const file = join(dir, "bad.parquet");
    const code = `import sys; sys.path.insert(0, 'tools'); from parquet_min import write_parquet
try:
    write_parquet(${JSON.stringify(file)}, [('a', 'INT32'), ('b', 'DOUBLE')], {'a': [1, 2], 'b': [1.0]})
except ValueError as e:
    print('ValueError', e)
import os; print(os.path.exists(${JSON.stringify(file)}))`;
    const out = python(["-c", code]);
    expect(out).toContain("ValueError column 'b' has 1 values, expected 2");
    expect(out.trim().endsWith("False")).toBe(true);
  });
});

describe.skipIf(noPython)("tools/parquet_min.py files in a second reader", () => {
  it.each(["plain", "dict"])("parquet-wasm (arrow-rs, the site's Parquet decoder) reads the same values and types (strings %s)", async (enc) => {
    const file = join(mkdtempSync(join(tmpdir(), "heatkv-pqmin-")), "w.parquet");
    const want = lastJson(python(["tools/parquet_min.py", file, "50", "16", enc]));
    const { createRequire } = await import("node:module");
    const { readFileSync } = await import("node:fs");
    const { tableFromIPC } = await import("apache-arrow");
    const pw = createRequire(import.meta.url)("parquet-wasm/node");
    const t = tableFromIPC(pw.readParquet(new Uint8Array(readFileSync(file))).intoIPCStream());
    expect(t.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(["i:Int32", "d:Float64", "s:Utf8"]);
    expect(t.getChild("i")!.toArray().length).toBe(50);
    expect(Array.from(t.getChild("i")!.toArray())).toEqual(want.i);
    expect(Array.from(t.getChild("d")!.toArray())).toEqual(want.d.map(Number));
    expect(t.getChild("s")!.toArray()).toEqual(want.s);
  });
});

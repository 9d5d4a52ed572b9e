// Write rows to Parquet with @duckdb/node-api: an in-memory table filled through an appender, then
// COPY … TO a temp file (FORMAT parquet), read back and returned / streamed. Used by the jobs and the site's data loaders.
import { randomUUID } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

export type ColumnType = "BOOLEAN" | "INTEGER" | "BIGINT" | "DOUBLE" | "FLOAT" | "VARCHAR";
export type Schema = Record<string, ColumnType>;
export type Row = Record<string, number | string | boolean | null>;

export async function toParquet(schema: Schema, rows: readonly Row[]): Promise<Buffer> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const tmp = join(tmpdir(), `heatkv-${randomUUID()}.parquet`);
  try {
    const columns = Object.entries(schema);
    await connection.run(`CREATE TABLE t (${columns.map(([n, t]) => `"${n}" ${t}`).join(", ")})`);
    const appender = await connection.createAppender("t");
    for (const row of rows) {
      for (const [name, type] of columns) {
        const v = row[name];
        if (v === null || v === undefined) appender.appendNull();
        else if (type === "BOOLEAN") appender.appendBoolean(Boolean(v));
        else if (type === "INTEGER") appender.appendInteger(Number(v));
        else if (type === "BIGINT") appender.appendBigInt(BigInt(v));
        else if (type === "DOUBLE") appender.appendDouble(Number(v));
        else if (type === "FLOAT") appender.appendFloat(Number(v));
        else appender.appendVarchar(String(v));
      }
      appender.endRow();
    }
    appender.closeSync();
    await connection.run(`COPY t TO '${tmp}' (FORMAT parquet, COMPRESSION zstd)`);
    return readFileSync(tmp);
  } finally {
    rmSync(tmp, { force: true });
    connection.closeSync();
    instance.closeSync();
  }
}

/** Loader entry point: write the Parquet bytes to stdout (Framework captures it into its cache). */
export async function writeParquetToStdout(schema: Schema, rows: readonly Row[]): Promise<void> {
  const bytes = await toParquet(schema, rows);
  await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (e) => (e ? reject(e) : resolve())));
}

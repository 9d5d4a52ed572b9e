// DuckDB-wasm for the site's pages, self-hosted from node_modules (no CDN, no extensions).
//
//   const db = await openDatabase({cache_shape: FileAttachment("data/cache_shape.parquet")});
//   const rows = await db.query("SELECT scale, SUM(bytes) AS bytes FROM cache_shape GROUP BY scale");
//
// DuckDB-wasm would download its parquet extension to read Parquet, which cannot work offline, so
// Parquet attachments are decoded in the page by parquet-wasm into Arrow IPC and inserted as tables
// (insertArrowFromIPCStream). `.arrow` attachments (Arrow IPC stream) are inserted as they are.
import * as duckdb from "@duckdb/duckdb-wasm";
import initParquet, { readParquet, wasmUrl as parquetWasmUrl } from "./parquet-wasm.js";

/** What the page hands in for a table: a Framework FileAttachment (or anything with name + arrayBuffer). */
export interface TableSource {
  name: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type QueryRow = object;

export interface Database {
  /** Run SQL; rows as plain objects (BIGINT/DECIMAL cast to double). */
  query<T extends QueryRow = QueryRow>(sql: string): Promise<T[]>;
  /** Names of the tables loaded, and their row counts at load time. */
  tables: Record<string, number>;
  version: string;
  /** Milliseconds spent: wasm instantiation, then loading each table. */
  timings: Record<string, number>;
  close(): Promise<void>;
}

let parquetReady: Promise<unknown> | undefined;

/** Parquet bytes → Arrow IPC stream (parquet-wasm, its wasm served from the site). */
export async function parquetToArrowIPC(bytes: Uint8Array): Promise<Uint8Array> {
  parquetReady ??= initParquet({ module_or_path: parquetWasmUrl });
  await parquetReady;
  return readParquet(bytes).intoIPCStream();
}

/** Start DuckDB-wasm from the local "eh" bundle (the only one shipped; all current browsers have wasm EH). */
export async function startDuckDB(): Promise<duckdb.AsyncDuckDB> {
  const workerUrl = import.meta.resolve("@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js");
  const wasmUrl = import.meta.resolve("@duckdb/duckdb-wasm/dist/duckdb-eh.wasm");
  const worker = new Worker(workerUrl, { type: "module" });
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  await db.instantiate(wasmUrl);
  await db.open({ query: { castBigIntToDouble: true, castDecimalToDouble: true } });
  return db;
}

function sqlIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid table name: ${name}`);
  return name;
}

export async function openDatabase(sources: Record<string, TableSource>): Promise<Database> {
  const timings: Record<string, number> = {};
  let t = performance.now();
  const db = await startDuckDB();
  timings.instantiate = performance.now() - t;
  const connection = await db.connect();
  const tables: Record<string, number> = {};
  for (const [name, source] of Object.entries(sources)) {
    t = performance.now();
    const bytes = new Uint8Array(await source.arrayBuffer());
    const ipc = /\.parquet$/i.test(source.name) ? await parquetToArrowIPC(bytes) : bytes;
    await connection.insertArrowFromIPCStream(ipc, { name: sqlIdentifier(name), create: true });
    const [{ n }] = (await connection.query(`SELECT COUNT(*)::DOUBLE AS n FROM ${name}`)).toArray().map((r) => r.toJSON());
    tables[name] = Number(n);
    timings[name] = performance.now() - t;
  }
  return {
    tables,
    timings,
    version: await db.getVersion(),
    async query<T extends QueryRow = QueryRow>(sql: string): Promise<T[]> {
      const result = await connection.query(sql);
      return result.toArray().map((row) => normalizeRow(row.toJSON()) as T);
    },
    async close() {
      await connection.close();
      await db.terminate();
    },
  };
}

/** Arrow row → plain object: bigint → number, nested Arrow vectors → arrays. */
export function normalizeRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = normalizeValue(v);
  return out;
}

function normalizeValue(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v && typeof v === "object" && "toArray" in v && typeof v.toArray === "function") {
    return Array.from(v.toArray() as Iterable<unknown>, normalizeValue);
  }
  return v;
}

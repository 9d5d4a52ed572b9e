// Types for parquet-wasm.js (the browser build of parquet-wasm, as served by Framework).
export { default, readParquet } from "parquet-wasm/esm";
/** URL of parquet_wasm_bg.wasm in the built site. */
export declare const wasmUrl: string;

// parquet-wasm through Framework's own npm copy (src/.observablehq/cache/_npm/parquet-wasm@…, filled from
// node_modules by tools/prefill-framework-cache.ts). A page with a .parquet FileAttachment ships that copy
// anyway, so using it here avoids a second 5 MB wasm in dist/. Types: parquet-wasm.d.ts.
export {default, readParquet} from "npm:parquet-wasm";
export const wasmUrl = import.meta.resolve("npm:parquet-wasm/esm/parquet_wasm_bg.wasm");

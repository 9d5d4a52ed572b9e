// Full-cache KV size per (scale, layer, head) of the demo VAR → Parquet (see jobs/cache-shape.ts).
import {CACHE_SHAPE_SCHEMA, cacheShapeRows, readModelConfig} from "../../jobs/cache-shape.js";
import {writeParquetToStdout} from "../../node/parquet.js";

await writeParquetToStdout(CACHE_SHAPE_SCHEMA, cacheShapeRows(readModelConfig()));

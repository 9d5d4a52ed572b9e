// Full-cache KV size per (scale, layer, head) of the demo VAR → Parquet (see loaders/cache-shape.ts).
import {CACHE_SHAPE_SCHEMA, cacheShapeRows, readModelConfig} from "../../loaders/cache-shape.js";
import {writeParquetToStdout} from "../../loaders/parquet.js";

await writeParquetToStdout(CACHE_SHAPE_SCHEMA, cacheShapeRows(readModelConfig()));

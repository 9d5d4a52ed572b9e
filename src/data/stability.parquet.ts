// Rank stability of S-CAS head orderings (growth of the calibration set, held-out classes) → Parquet.
import {calibrate, DEFAULT_STATS_PATH} from "../../jobs/calibrate.js";
import {loadNodeModel} from "../../node/node-backend.js";
import {writeParquetToStdout} from "../../node/parquet.js";
import {STABILITY_SCHEMA, stabilityRows} from "../../jobs/stability.js";

await calibrate({out: DEFAULT_STATS_PATH, progress: false, log: () => {}});
const {config} = await loadNodeModel();
await writeParquetToStdout(STABILITY_SCHEMA, await stabilityRows(DEFAULT_STATS_PATH, config));

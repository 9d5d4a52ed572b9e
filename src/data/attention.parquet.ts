// Attention statistics of the demo model (default calibration set) → Parquet (schema: docs/stats-schema.md).
import {readFileSync} from "node:fs";
import {calibrate, DEFAULT_STATS_PATH} from "../../jobs/calibrate.js";

await calibrate({out: DEFAULT_STATS_PATH, progress: false, log: () => {}});
process.stdout.write(readFileSync(DEFAULT_STATS_PATH));

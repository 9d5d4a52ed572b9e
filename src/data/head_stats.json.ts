// Calibration statistics (S-CAS and mean masses per layer × head × scale) for in-page schedule building.
import {join} from "node:path";
import {headStatsJson} from "../../jobs/head-stats.js";
import {MODEL_DIR} from "../../node/paths.js";
import {readConfig} from "../../jobs/schedule.js";

process.stdout.write(await headStatsJson(readConfig(join(MODEL_DIR, "config.json"))));

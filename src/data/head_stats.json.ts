// Calibration statistics (S-CAS and mean masses per layer × head × scale) for in-page schedule building.
import {join} from "node:path";
import {headStatsJson} from "../../loaders/head-stats.js";
import {MODEL_DIR} from "../../loaders/paths.js";
import {readConfig} from "../../loaders/schedule.js";

process.stdout.write(await headStatsJson(readConfig(join(MODEL_DIR, "config.json"))));

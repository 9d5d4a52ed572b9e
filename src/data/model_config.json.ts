// The demo VAR's config.json as exported (snake_case), after validation by src/lib/model/config.ts.
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {readModelConfig} from "../../jobs/cache-shape.js";
import {MODEL_DIR} from "../../node/paths.js";

readModelConfig();
process.stdout.write(readFileSync(join(MODEL_DIR, "config.json")));

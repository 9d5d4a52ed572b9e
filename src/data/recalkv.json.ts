// data/model/recalkv/recalkv.json (the ReCalKV low-rank variants, train/recalkv.py), validated against the model.
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {readModelConfig} from "../../jobs/cache-shape.js";
import {loadLowRankManifest} from "../../node/node-backend.js";
import {MODEL_DIR} from "../../node/paths.js";

loadLowRankManifest(readModelConfig());
process.stdout.write(readFileSync(join(MODEL_DIR, "recalkv", "recalkv.json")));

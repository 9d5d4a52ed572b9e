// data/model/recalkv/recalkv.json (the ReCalKV low-rank variants, train/recalkv.py), validated against the model.
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {readModelConfig} from "../../loaders/cache-shape.js";
import {loadLowRankManifest} from "../../loaders/node-backend.js";
import {MODEL_DIR} from "../../loaders/paths.js";

loadLowRankManifest(readModelConfig());
process.stdout.write(readFileSync(join(MODEL_DIR, "recalkv", "recalkv.json")));

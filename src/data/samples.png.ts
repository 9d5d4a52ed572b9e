// The sample grid written by train/export.py (one row per class), copied from data/model/.
import {join} from "node:path";
import {streamFileToStdout} from "../../node/files.js";
import {MODEL_DIR} from "../../node/paths.js";

await streamFileToStdout(join(MODEL_DIR, "samples.png"));

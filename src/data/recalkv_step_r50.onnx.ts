// data/model/recalkv/step_r50.onnx (ReCalKV low-rank step graph, rank ratio 0.50) copied into the site for /compare.
import {join} from "node:path";
import {streamFileToStdout} from "../../node/files.js";
import {MODEL_DIR} from "../../node/paths.js";

await streamFileToStdout(join(MODEL_DIR, "recalkv", "step_r50.onnx"));

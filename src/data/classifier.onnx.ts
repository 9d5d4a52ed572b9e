// data/model/classifier.onnx copied into the site (the in-browser runtime loads it).
import {join} from "node:path";
import {streamFileToStdout} from "../../node/files.js";
import {MODEL_DIR} from "../../node/paths.js";

await streamFileToStdout(join(MODEL_DIR, "classifier.onnx"));

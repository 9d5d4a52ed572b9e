// data/model/recalkv/fixture.json (PyTorch reference step of every ReCalKV variant): /compare self-checks a
// low-rank variant with it before running it on WebGPU.
import {join} from "node:path";
import {streamFileToStdout} from "../../node/files.js";
import {MODEL_DIR} from "../../node/paths.js";

await streamFileToStdout(join(MODEL_DIR, "recalkv", "fixture.json"));

// The demo VAR's image decoder (f_hat [1,32,8,8] → image [1,3,64,64]) copied from data/model/.
import {join} from "node:path";
import {streamFileToStdout} from "../../node/files.js";
import {MODEL_DIR} from "../../node/paths.js";

await streamFileToStdout(join(MODEL_DIR, "vq_decode.onnx"));

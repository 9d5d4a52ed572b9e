// f_hat and the PyTorch-decoded image from data/model/fixture.json: the reference for the ORT-web check.
import {readModelConfig} from "../../jobs/cache-shape.js";
import {decodeFixture} from "../../jobs/decode-fixture.js";

process.stdout.write(JSON.stringify(decodeFixture(readModelConfig())));

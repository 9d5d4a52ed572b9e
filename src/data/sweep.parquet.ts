// The quality-vs-memory sweep (docs/sweep.md): every method × 5–50 % budgets × every class × seeds 101–108,
// one row per image. Resumable: finished (method, budget) cells are kept under .heatkv/sweep/.
import {readFileSync} from "node:fs";
import {DEFAULT_SWEEP_PATH, sweep} from "../../jobs/sweep.js";

await sweep({out: DEFAULT_SWEEP_PATH});
process.stdout.write(readFileSync(DEFAULT_SWEEP_PATH));

/** `heatkv stats …`: commands on attention-statistics files (`stats validate FILE|DIR`). */
import type { Command } from "commander";
import { join } from "node:path";
import { readConfig } from "../jobs/schedule.js";
import { MODEL_DIR } from "../node/node-backend.js";
import { statsFilesOf, summaryLine, validateStatsFiles } from "../node/stats-validate.js";

/** Validate a statistics file or a folder of shards; the ok line, or throws the one-line error (exit 1). */
export async function runStatsValidate(path: string, modelDir: string): Promise<string> {
  const cfg = readConfig(join(modelDir, "config.json"));
  return summaryLine(await validateStatsFiles(statsFilesOf(path), cfg), cfg);
}

export function registerStatsCommands(program: Command): void {
  const stats = program.command("stats").description("attention-statistics files (heatkv calibrate, tools/torch_hook.py)");
  stats
    .command("validate")
    .description(
      "check a statistics Parquet file, or a folder of shards read as one table, for structure and meaning (docs/stats-schema.md §4); exit 1 with one line naming the file, the first offending row and the rule",
    )
    .argument("<file|dir>", "a .parquet file or a folder of .parquet shards (*_tokens.parquet are skipped)")
    .option("--model <dir>", "model folder (config.json: shape and config hash)", MODEL_DIR)
    .action(async (path: string, o: { model: string }) => {
      console.log(await runStatsValidate(path, o.model));
    });
}

// `heatkv sweep` / `heatkv tune` option parsers (cli/sweep-cli.ts): budget lists and CLI method specs.
import { describe, expect, it } from "vitest";
import { cliMethodSpec, parseBudgetList } from "../../cli/sweep-cli.js";
import { readConfig } from "../../jobs/schedule.js";
import { parseMethodSpec } from "../../jobs/sweep.js";
import { MODEL_DIR } from "../../node/node-backend.js";

const DEMO = readConfig(`${MODEL_DIR}/config.json`);

describe("sweep options (CLI)", () => {
  it("parses budget lists in the one budget grammar (a bare number is a fraction, as in `schedule --budget`)", () => {
    expect(parseBudgetList("5%,10%,50%,0.2", DEMO)).toEqual([0.05, 0.1, 0.5, 0.2]);
    expect(() => parseBudgetList("20", DEMO)).toThrow(/did you mean "20%"/);
    expect(() => parseBudgetList("120%", DEMO)).toThrow(/at most 100%/);
  });

  it("CLI method specs: '+' joins parameters, not method names (heatkv+recalkv)", () => {
    expect(cliMethodSpec("heatkv:sigma=1+strict=true")).toBe("heatkv:sigma=1,strict=true");
    expect(cliMethodSpec("heatkv+recalkv")).toBe("heatkv+recalkv");
    expect(cliMethodSpec("heatkv+recalkv:rankRatio=0.25+sigma=1")).toBe("heatkv+recalkv:rankRatio=0.25,sigma=1");
    expect(parseMethodSpec(cliMethodSpec("heatkv+recalkv:rankRatio=0.25+sigma=1"))).toEqual({
      label: "heatkv+recalkv:rankRatio=0.25,sigma=1",
      method: "heatkv+recalkv",
      params: { rankRatio: 0.25, sigma: 1 },
    });
  });
});

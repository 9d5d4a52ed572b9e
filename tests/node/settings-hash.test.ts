// The calibration store's resume key (node/stats-store.ts settingsHash): changing ANY setting or the model must
// change it — otherwise a run with other settings would silently reuse the old prompts' shards.
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../../jobs/calibrate.js";
import { readConfig } from "../../jobs/schedule.js";
import { MODEL_DIR } from "../../node/node-backend.js";
import { settingsHash } from "../../node/stats-store.js";

const cfg = readConfig(`${MODEL_DIR}/config.json`);

describe("calibration resume key", () => {
  it("changes with every setting (each key of the settings object), the config hash and the weights hash", () => {
    const base = settingsHash(cfg, DEFAULT_SETTINGS);
    const keys = Object.keys(DEFAULT_SETTINGS);
    expect(keys.length).toBeGreaterThanOrEqual(4);
    for (const k of keys) {
      const v = (DEFAULT_SETTINGS as unknown as Record<string, unknown>)[k];
      const changed = { ...DEFAULT_SETTINGS, [k]: typeof v === "number" ? v + 0.5 : typeof v === "boolean" ? !v : `${v}x` };
      expect(settingsHash(cfg, changed), k).not.toBe(base);
    }
    expect(settingsHash({ ...cfg, weightsHash: "0000000000000000" }, DEFAULT_SETTINGS)).not.toBe(base);
    expect(settingsHash({ ...cfg, configHash: "0000000000000000" }, DEFAULT_SETTINGS)).not.toBe(base);
  });
  it("does not depend on the order of the settings' keys", () => {
    const reversed = Object.fromEntries(Object.entries(DEFAULT_SETTINGS).reverse()) as typeof DEFAULT_SETTINGS;
    expect(settingsHash(cfg, reversed)).toBe(settingsHash(cfg, DEFAULT_SETTINGS));
  });
});

import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { checkOutputFolder } from "../../tools/build.js";

const ROOT = resolve(import.meta.dirname, "..", "..");

describe("build output folder", () => {
  it("refuses folders whose clearing would delete the project or its sources", () => {
    for (const bad of [ROOT, resolve(ROOT, ".."), "/", join(ROOT, "src"), join(ROOT, "src", "out")]) {
      expect(() => checkOutputFolder(bad), bad).toThrow(/HEATKV_DIST=.*the build clears its output folder/);
    }
  });

  it("accepts dist/ and folders outside the project", () => {
    for (const ok of [join(ROOT, "dist"), join(ROOT, ".scratch", "dist"), "/tmp/heatkv-dist"]) expect(() => checkOutputFolder(ok)).not.toThrow();
  });
});

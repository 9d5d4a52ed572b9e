// docs/reliability.md: every test its table cites (`tests/….test.ts` › “name”) exists under that name in that
// file, so the table cannot silently drift from the tests that hold its guarantees.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const doc = readFileSync(join(ROOT, "docs", "reliability.md"), "utf8");

describe("docs/reliability.md", () => {
  it("cites only tests that exist, by file and name", () => {
    const cited: [string, string][] = [];
    for (const m of doc.matchAll(/`(tests\/[^`]+\.test\.ts)`((?:;?\s*›\s*“[^”]+”)+)/g)) for (const n of m[2].matchAll(/“([^”]+)”/g)) cited.push([m[1], n[1]]);
    expect(cited.length).toBeGreaterThan(40);
    const missing = cited.filter(([f, name]) => {
      const text = readFileSync(join(ROOT, f), "utf8");
      return !text.includes(`"${name}"`) && !text.includes(`'${name}'`) && !text.includes(`\`${name}\``);
    });
    expect(missing).toEqual([]);
  });
});

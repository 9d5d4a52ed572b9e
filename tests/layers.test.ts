// The Node folders' layering (see each folder's README.md): cli → jobs → node → src/lib, bench → jobs/node/src/lib.
// Every relative import (static or dynamic) of a .ts file in cli/, jobs/, node/ and bench/ stays inside what
// its folder may use.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const MAY_IMPORT: Record<string, string[]> = {
  cli: ["cli", "jobs", "node", "src/lib"],
  jobs: ["jobs", "node", "src/lib"],
  node: ["node", "src/lib"],
  bench: ["bench", "jobs", "node", "src/lib"],
};

function room(path: string): string {
  const rel = relative(ROOT, path).split("\\").join("/");
  return rel.startsWith("src/lib/") ? "src/lib" : rel.split("/")[0];
}

describe("Node folders' layering", () => {
  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${folder}/ imports only ${allowed.join(", ")}`, () => {
      const files = readdirSync(join(ROOT, folder)).filter((f) => f.endsWith(".ts"));
      expect(files.length).toBeGreaterThan(0);
      const bad: string[] = [];
      for (const f of files) {
        const text = readFileSync(join(ROOT, folder, f), "utf8");
        for (const m of text.matchAll(/(?:from\s+|import\(\s*)["'](\.{1,2}\/[^"'$]+)["']/g)) {
          const target = room(resolve(dirname(join(ROOT, folder, f)), m[1]));
          if (!allowed.includes(target)) bad.push(`${folder}/${f} → ${m[1]}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }
});

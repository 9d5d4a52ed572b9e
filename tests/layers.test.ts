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

// The rooms of src/lib (docs/architecture.md), bottom-up: model → schema → {schedules, var} → enforce → metrics → site.
// schedules/ never imports var/ (schedule math is pure), and nothing below site/ imports site/.
const LIB_MAY_IMPORT: Record<string, string[]> = {
  model: ["model"],
  schema: ["schema", "model"],
  schedules: ["schedules", "schema", "model"],
  var: ["var", "schema", "model"],
  enforce: ["enforce", "schedules", "var", "schema", "model"],
  metrics: ["metrics", "enforce", "schedules", "var", "schema", "model"],
  site: ["site", "metrics", "enforce", "schedules", "var", "schema", "model"],
};

function libFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? libFiles(join(dir, e.name)) : /\.(ts|js)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : [],
  );
}

describe("src/lib rooms' layering", () => {
  const LIB = join(ROOT, "src", "lib");
  it("every room of src/lib is listed", () => {
    const rooms = readdirSync(LIB, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(rooms).toEqual(Object.keys(LIB_MAY_IMPORT).sort());
  });
  for (const [roomName, allowed] of Object.entries(LIB_MAY_IMPORT)) {
    it(`src/lib/${roomName}/ imports only ${allowed.join(", ")}`, () => {
      const bad: string[] = [];
      for (const file of libFiles(join(LIB, roomName))) {
        const text = readFileSync(file, "utf8");
        for (const m of text.matchAll(/(?:from\s+|import\(\s*)["'](\.{1,2}\/[^"'$]+)["']/g)) {
          const target = relative(LIB, resolve(dirname(file), m[1]))
            .split("\\")
            .join("/");
          const targetRoom = target.startsWith("..") ? `outside src/lib (${target})` : target.split("/")[0];
          if (!allowed.includes(targetRoom)) bad.push(`${relative(ROOT, file)} → ${m[1]}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }
});

// The declared Node requirement (package.json engines.node) is the real one: every installed package's own
// engines.node range (package-lock.json) admits the declared minimum version, so npm never prints EBADENGINE
// on a supported Node — and this process runs on a Node the declaration admits.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));

describe("declared Node engine", () => {
  const declared: string = pkg.engines.node;
  const minimum = semver.minVersion(declared)?.version as string;
  it(`every locked package admits the declared minimum (${declared} → ${minimum})`, () => {
    const refusing: string[] = [];
    for (const [path, p] of Object.entries(lock.packages as Record<string, { engines?: { node?: string } | string[]; optional?: boolean; dev?: boolean }>)) {
      const range = !Array.isArray(p.engines) ? p.engines?.node : undefined;
      if (!path || !range) continue;
      if (!semver.satisfies(minimum, range, { includePrerelease: true })) refusing.push(`${path.replace(/^.*node_modules\//, "")} needs ${range}`);
    }
    expect(refusing).toEqual([]);
  });
  it("this Node satisfies the declaration (README and .ci/run use the same)", () => {
    expect(semver.satisfies(process.versions.node, declared)).toBe(true);
  });
});

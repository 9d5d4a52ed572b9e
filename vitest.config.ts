// Two vitest projects: "unit" (everything under tests/ but e2e; fast, no browser) and "e2e" (the built
// site in headless Debian chromium via playwright-core; builds dist/ first when missing or stale).
//   npm run test:unit  →  vitest run --project unit
//   npm run test:e2e   →  vitest run --project e2e
import { defineConfig } from "vitest/config";

// Some reporters call Map.groupBy / Object.groupBy (ES2024), which node 20 lacks: failures would then crash
// the summary instead of being printed. Polyfill them here,
// in the main vitest process, where the reporter runs.
type GroupBy = <K, T>(items: Iterable<T>, key: (item: T, index: number) => K) => Map<K, T[]>;
if (typeof (Map as unknown as { groupBy?: GroupBy }).groupBy !== "function") {
  const groupBy: GroupBy = (items, key) => {
    const groups = new Map();
    let i = 0;
    for (const item of items) {
      const k = key(item, i++);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(item);
    }
    return groups;
  };
  Object.defineProperty(Map, "groupBy", { value: groupBy, configurable: true, writable: true });
  Object.defineProperty(Object, "groupBy", {
    value: <T>(items: Iterable<T>, key: (item: T, index: number) => PropertyKey) => Object.assign(Object.create(null), Object.fromEntries(groupBy(items, key))),
    configurable: true,
    writable: true,
  });
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/**/*.test.ts"],
          exclude: ["tests/e2e/**", "**/node_modules/**"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          globalSetup: ["tests/e2e/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});

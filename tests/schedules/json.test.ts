import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SCHEDULE_JSON_SCHEMA } from "../../src/lib/schedules/json.js";
import { ScheduleError } from "../../src/lib/schedules/errors.js";
import {
  exportSchedule,
  importSchedule,
  parseScheduleJson,
  referenceOrders,
  stringifyReferenceOrders,
  stringifySchedule,
} from "../../src/lib/schedules/json.js";
import { METHOD_NAMES, buildSchedule } from "../../src/lib/schedules/registry.js";
import type { Schedule } from "../../src/lib/schedules/schedule.js";
import { INFINITY_2B_MODEL, syntheticStats } from "../../src/lib/schedules/synthetic.js";
import { demoConfig, demoLowRank } from "./helpers.js";

const SCHEMA_FILE = join(import.meta.dirname, "..", "..", "src", "lib", "schema", "schedule.schema.json");
const demo = demoConfig();
const stats = syntheticStats(demo, 5);
const lowRank = demoLowRank();
const build = (m: string, params?: Record<string, unknown>, b = m === "recalkv" ? "40%" : "25%") => buildSchedule(m, demo, b, { stats, params, lowRank });
const all = (): [string, Schedule][] => [
  ...METHOD_NAMES.map((m) => [m, build(m)] as [string, Schedule]),
  ["heatkv strict", build("heatkv", { strict: true })],
  ["heatkv+recalkv r25 strict", build("heatkv+recalkv", { rankRatio: 0.25, strict: true })],
  ["recalkv sigma=0", build("recalkv", { sigma: 0 }, "25%")],
  ["heatkv+recalkv sigma=1", build("heatkv+recalkv", { sigma: 1 }, "10%")],
];

describe("schema file", () => {
  it("schedule.schema.json is the TS schema object (HEATKV_WRITE_SCHEMA=1 rewrites it)", () => {
    const text = `${JSON.stringify(SCHEDULE_JSON_SCHEMA, null, 2)}\n`;
    if (process.env.HEATKV_WRITE_SCHEMA) writeFileSync(SCHEMA_FILE, text);
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(text);
    expect(SCHEDULE_JSON_SCHEMA.properties.method.enum).toEqual(METHOD_NAMES);
  });
});

describe("export / import round trip", () => {
  it.each(all())("%s: import(export(s)) deep-equals s, also through text", (_m, s) => {
    const j = exportSchedule(s);
    expect(j.version).toBe("heatkv-schedule/1");
    expect(j.model).toMatchObject({
      id: demo.modelId,
      configHash: demo.configHash,
      patchNums: demo.patchNums,
      numLayers: 6,
      numHeads: 8,
      headDim: 16,
      maxCacheTokens: 91,
    });
    expect(j.budget).toMatchObject(
      _m === "full" ? { given: "100%", ratio: 1 } : { given: s.budget.given, ratio: Number.parseFloat(s.budget.given) / 100, bytesPerElement: 4, rows: 2 },
    );
    expect(j.budget.denominator).toMatch(/^full KV cache of one image/);
    expect(j.targets).toHaveLength(6);
    expect(importSchedule(j, demo)).toEqual(s);
    const text = stringifySchedule(s);
    expect(parseScheduleJson(text, demo)).toEqual(s);
    expect(stringifySchedule(parseScheduleJson(text, demo))).toBe(text);
    expect(importSchedule(JSON.parse(text))).toEqual(s); // without a model: checked against its own
  });
  it("static files list explicit keep lists, dynamic ones counts + rules", () => {
    const h = exportSchedule(build("heatkv"));
    if (h.kind !== "static") throw new Error("static expected");
    expect(h.targets[0]).toEqual({ scale: 1, keep: Array.from({ length: 6 }, () => Array.from({ length: 8 }, () => [0])) });
    const u = exportSchedule(build("h2o"));
    if (u.kind !== "dynamic") throw new Error("dynamic expected");
    expect(u.rules[5][7]).toBe("h2o");
    expect(u.targets[0].count[0][0]).toBe(1);
    expect(u.scorer).toEqual({ recentRatio: 0.5, window: 16, poolKernel: 5 });
  });
});

describe("import: bad files fail with one line naming the field", () => {
  const base = () => JSON.parse(stringifySchedule(build("heatkv"))) as Record<string, any>;
  const dyn = () => JSON.parse(stringifySchedule(build("uniform"))) as Record<string, any>;
  const lr = () => JSON.parse(stringifySchedule(build("heatkv+recalkv"))) as Record<string, any>;
  const cases: [string, () => unknown, string | RegExp][] = [
    ["budget.ratio > 1", () => ({ ...base(), budget: { ...base().budget, ratio: 1.5 } }), 'schedule.json: field "budget.ratio" must be in (0, 1], got 1.5'],
    ["negative budget", () => ({ ...base(), budget: { ...base().budget, ratio: -0.1 } }), 'schedule.json: field "budget.ratio" must be in (0, 1], got -0.1'],
    [
      "budget over 100 % as given",
      () => ({ ...base(), budget: { ...base().budget, given: "150%" } }),
      /^schedule.json: field "budget.given" must be at most 100% of the full KV cache/,
    ],
    [
      "negative given",
      () => ({ ...base(), budget: { ...base().budget, given: "-25%" } }),
      'schedule.json: field "budget.given" must be positive (a negative budget means nothing), got "-25%"',
    ],
    [
      "ratio vs given",
      () => ({ ...base(), budget: { ...base().budget, ratio: 0.3 } }),
      'schedule.json: field "budget.ratio" is 0.3 but budget.given "25%" means 0.25',
    ],
    [
      "config hash mismatch",
      () => ({ ...base(), model: { ...base().model, configHash: "0123abcd" } }),
      `schedule.json: field "model.configHash" is "0123abcd" but the loaded model "${demo.modelId}" has "${demo.configHash}": this schedule was made for another model`,
    ],
    [
      "other layer count",
      () => ({ ...base(), model: { ...base().model, numLayers: 5 } }),
      'schedule.json: field "model.numLayers" is 5 but the loaded model has 6',
    ],
    [
      "wrong derived tokens",
      () => ({ ...base(), model: { ...base().model, tokensPerScale: [1, 4, 9, 16, 25, 36, 65] } }),
      /field "model.tokensPerScale" must be the squares of patchNums/,
    ],
    [
      "unknown method",
      () => ({ ...base(), method: "magic" }),
      /^schedule.json: field "method" must be one of "full", "uniform", "streaming", "pyramid", "h2o", "scalekv", "hack", "heatkv", "recalkv", "heatkv\+recalkv", got "magic"$/,
    ],
    ["kind mismatch", () => ({ ...dyn(), method: "heatkv", params: {} }), 'schedule.json: field "kind" must be "static" for method "heatkv", got "dynamic"'],
    [
      "unknown param",
      () => ({ ...base(), params: { sigma: 3, strict: false, foo: 1 } }),
      'schedule.json: field "params.foo" is not a parameter of method "heatkv" (known: sigma, strict)',
    ],
    ["bad param", () => ({ ...base(), params: { sigma: 2.5, strict: false } }), 'schedule.json: field "params.sigma" must be an integer in [0, ∞), got 2.5'],
    [
      "wrong version",
      () => ({ ...base(), version: "heatkv-schedule/0" }),
      'schedule.json: field "version" must be "heatkv-schedule/1", got "heatkv-schedule/0"',
    ],
    ["missing field", () => ({ ...base(), budget: undefined }), 'schedule.json: field "budget" is required'],
    ["extra field", () => ({ ...base(), extra: 1 }), 'schedule.json: field "extra" is not part of the heatkv-schedule/1 format'],
    [
      "wrong type deep",
      () => {
        const b = base();
        b.targets[2].keep[1][3] = "0,1";
        return b;
      },
      'schedule.json: field "targets[2].keep[1][3]" must be array, got "0,1"',
    ],
    ["too few targets", () => ({ ...base(), targets: base().targets.slice(1) }), 'schedule.json: field "targets" must list the 6 target scales 1..6, got 5'],
    [
      "wrong head count",
      () => {
        const b = base();
        b.targets[0].keep[2].pop();
        return b;
      },
      'schedule.json: field "targets[0].keep[2]" must have one entry per head (8), got 7',
    ],
    [
      "source ≥ target",
      () => {
        const b = base();
        b.targets[1].keep[0][0] = [0, 2];
        return b;
      },
      'schedule.json: field "targets[1].keep[0][0][1]" must be a source scale < 2 (the target), got 2',
    ],
    [
      "re-added block",
      () => {
        const b = base();
        b.targets[4].keep[0][0] = [0, 1, 2];
        b.targets[3].keep[0][0] = [0, 1];
        return b;
      },
      /field "targets\[4\] \(scale 5\), layer 0, head 0" re-adds source scale 2 dropped before scale 4: a dropped block never returns/,
    ],
    [
      "over budget",
      () => {
        const b = base();
        b.targets[5].keep = b.targets[5].keep.map((row: number[][]) => row.map(() => [0, 1, 2, 3, 4, 5]));
        b.targets[4].keep = b.targets[4].keep.map((row: number[][]) => row.map(() => [0, 1, 2, 3, 4]));
        b.targets[3].keep = b.targets[3].keep.map((row: number[][]) => row.map(() => [0, 1, 2, 3]));
        return b;
      },
      /^schedule.json: field "targets\[3\]" keeps 1440 entries entering scale 4, over the budget of 1092.00 \(25% of 48·91 token slots\)$/,
    ],
    [
      "count over availability",
      () => {
        const d = dyn();
        d.targets[1].count[0][0] = 6;
        return d;
      },
      /count 6 exceeds the 5 entries that can exist/,
    ],
    [
      "negative count",
      () => {
        const d = dyn();
        d.targets[1].count[0][0] = -1;
        return d;
      },
      'schedule.json: field "targets[1].count[0][0]" must be an integer ≥ 0, got -1',
    ],
    [
      "unknown rule",
      () => {
        const d = dyn();
        d.rules[0][1] = "oracle";
        return d;
      },
      'schedule.json: field "rules[0][1]" must be one of "recent", "h2o", "snapkv", got "oracle"',
    ],
    [
      "scorer in a static file",
      () => ({ ...base(), scorer: { recentRatio: 0, window: 0, poolKernel: 1 } }),
      'schedule.json: field "scorer" must not be present for this kind of schedule',
    ],
    ["dynamic without rules", () => ({ ...dyn(), rules: undefined }), 'schedule.json: field "rules" is required'],
    [
      "low-rank part missing",
      () => ({ ...lr(), lowRank: undefined }),
      'schedule.json: field "lowRank" is required for method "heatkv+recalkv" (the ReCalKV variant, latent widths and head groups)',
    ],
    [
      "low-rank part on a full-width method",
      () => ({ ...base(), lowRank: lr().lowRank }),
      'schedule.json: field "lowRank" must not be present for method "heatkv" (full-width cache)',
    ],
    [
      "low-rank part in a dynamic file",
      () => ({ ...dyn(), lowRank: lr().lowRank }),
      'schedule.json: field "lowRank" must not be present for this kind of schedule',
    ],
    [
      "low-rank rank ratio 0",
      () => ({ ...lr(), lowRank: { ...lr().lowRank, rankRatio: 0 } }),
      'schedule.json: field "lowRank.rankRatio" must be in (0, 1], got 0',
    ],
    [
      "low-rank extra field",
      () => ({ ...lr(), lowRank: { ...lr().lowRank, rank: 3 } }),
      'schedule.json: field "lowRank.rank" is not part of the heatkv-schedule/1 format',
    ],
    [
      "low-rank key width over the group's",
      () => ({ ...lr(), lowRank: { ...lr().lowRank, keyWidth: 33 } }),
      'schedule.json: field "lowRank.keyWidth" must be an integer in [1, groupSize·headDim = 32], got 33',
    ],
    [
      "low-rank groups not a partition",
      () => {
        const b = lr();
        b.lowRank.groups[1][0] = [0, 0];
        return b;
      },
      /^schedule.json: field "lowRank.groups\[1\]" must partition heads 0..7 into 4 ascending groups of 2, got \[\[0,0\],/,
    ],
    [
      "low-rank widths over the byte budget",
      () => ({ ...lr(), params: { ...lr().params, rankRatio: 1 }, lowRank: { ...lr().lowRank, rankRatio: 1, keyWidth: 32, valueWidth: 16 } }),
      /^schedule.json: field "targets\[\d\]" holds \d+ B of low-rank cache entering scale \d, over the budget of 279552.0 B \(25% of the full cache\)$/,
    ],
    // forged widths used to pass the byte check (predicted 98,744 B for a cache of 220,220 B)
    [
      "low-rank key width not the rank ratio's",
      () => ({ ...lr(), lowRank: { ...lr().lowRank, keyWidth: 1 } }),
      'schedule.json: field "lowRank.keyWidth" is 1 but rankRatio 0.5 × groupSize 2 × headDim 16 gives 16',
    ],
    [
      "low-rank value width not the rank ratio's",
      () => ({ ...lr(), lowRank: { ...lr().lowRank, valueWidth: 16 } }),
      'schedule.json: field "lowRank.valueWidth" is 16 but rankRatio 0.5 × headDim 16 gives 8',
    ],
    [
      "low-rank sigma negative",
      () => ({ ...lr(), lowRank: { ...lr().lowRank, sigma: -1 } }),
      'schedule.json: field "lowRank.sigma" must be an integer ≥ 0, got -1',
    ],
    [
      "low-rank sigma not an integer",
      () => ({ ...lr(), lowRank: { ...lr().lowRank, sigma: 1.5 } }),
      'schedule.json: field "lowRank.sigma" must be an integer ≥ 0, got 1.5',
    ],
    [
      "low-rank sigma ≥ K",
      () => ({ ...lr(), lowRank: { ...lr().lowRank, sigma: 7 } }),
      'schedule.json: field "lowRank.sigma" must be an integer in [0, K−1 = 6] (exact sink scales), got 7',
    ],
    [
      "low-rank sigma vs params.sigma",
      () => ({ ...lr(), lowRank: { ...lr().lowRank, sigma: 2 } }),
      'schedule.json: field "lowRank.sigma" is 2 but params.sigma is 3: the exact sink scales are the method\'s σ (min(σ, K−1) = 3)',
    ],
    [
      "params.rankRatio vs lowRank.rankRatio",
      () => ({ ...lr(), params: { ...lr().params, rankRatio: 0.25 } }),
      'schedule.json: field "params.rankRatio" is 0.25 but lowRank.rankRatio (variant r50) is 0.5: they must agree',
    ],
    [
      "the reviewer's forgery (rank ratio 0.25, key width 1, variant r50)",
      () => ({ ...lr(), params: { ...lr().params, rankRatio: 0.25 }, lowRank: { ...lr().lowRank, keyWidth: 1 } }),
      /^schedule.json: field "lowRank.keyWidth" is 1 but/,
    ],
    [
      "recalkv explicit rank ratio vs its part",
      () => ({ ...JSON.parse(stringifySchedule(build("recalkv", { rankRatio: 0.25 }))), params: { rankRatio: 0.75 } }),
      'schedule.json: field "params.rankRatio" is 0.75 but lowRank.rankRatio (variant r25) is 0.25: they must agree',
    ],
    [
      "full at 25 %",
      () => ({ ...base(), method: "full", params: {}, targets: exportSchedule(buildSchedule("full", demo, "100%")).targets }),
      'schedule.json: field "budget.ratio" must be 1 for method "full" (the full cache), got 0.25',
    ],
  ];
  it.each(cases)("%s", (_name, make, msg) => {
    let err: unknown;
    try {
      importSchedule(make(), demo);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScheduleError);
    const m = (err as Error).message;
    if (typeof msg === "string") expect(m).toBe(msg);
    else expect(m).toMatch(msg);
    expect(m).not.toContain("\n");
  });
  it("with the model's recalkv.json: the variant exists with the same rank ratio, widths and groups", () => {
    const ok = lr();
    expect(importSchedule(ok, demo, "schedule.json", lowRank)).toEqual(importSchedule(ok, demo));
    expect(parseScheduleJson(JSON.stringify(ok), demo, "schedule.json", lowRank).lowRank?.variant).toBe("r50");
    // self-consistent r25 numbers under variant r50: the widths follow the ratio, only the manifest tells
    const forged = { ...lr(), params: { ...lr().params, rankRatio: 0.25 }, lowRank: { ...lr().lowRank, rankRatio: 0.25, keyWidth: 8, valueWidth: 4 } };
    expect(importSchedule(forged, demo).lowRank?.variant).toBe("r50");
    expect(() => importSchedule(forged, demo, "schedule.json", lowRank)).toThrow(
      'schedule.json: field "lowRank.rankRatio" is 0.25 but variant r50 in recalkv.json has 0.5',
    );
    expect(() => importSchedule({ ...lr(), lowRank: { ...lr().lowRank, variant: "r33" } }, demo, "schedule.json", lowRank)).toThrow(
      'schedule.json: field "lowRank.variant" must be one of the model\'s ReCalKV variants r75, r50, r25 (recalkv.json), got "r33"',
    );
    const regrouped = lr();
    regrouped.lowRank.groups[0].reverse(); // still a partition into ascending groups, same bytes: not the graph's
    expect(importSchedule(regrouped, demo).lowRank?.variant).toBe("r50");
    expect(() => importSchedule(regrouped, demo, "schedule.json", lowRank)).toThrow(
      /^schedule.json: field "lowRank.groups\[0\]" is \[\[.*\]\] but variant r50 in recalkv.json groups layer 0 as \[\[/,
    );
  });
  it("not JSON / not an object", () => {
    expect(() => parseScheduleJson("{ nope", demo)).toThrow(/^schedule.json: field "\(root\)" is not valid JSON \(/);
    expect(() => parseScheduleJson("[1]", demo, "my.json")).toThrow('my.json: field "(root)" must be a JSON object, got [1]');
  });
});

describe("HeatKV reference orders export", () => {
  it("one list per source s = σ..K−2 of [head, layer], least important first (arm-research/heatkv orders/2b.json format)", () => {
    const s = buildSchedule("heatkv", INFINITY_2B_MODEL, "10%", { stats: syntheticStats(INFINITY_2B_MODEL, 9) });
    const o = referenceOrders(s);
    expect(o).toHaveLength(13 - 1 - 3);
    for (const order of o) {
      expect(order).toHaveLength(512);
      expect(new Set(order.map(([h, l]) => l * 16 + h)).size).toBe(512);
    }
    const text = stringifyReferenceOrders(s);
    expect(text.startsWith("[\n    [\n        [\n            ")).toBe(true);
    expect(JSON.parse(text)).toEqual(o);
    // taking the orders back in gives the same schedule
    const back = buildSchedule("heatkv", INFINITY_2B_MODEL, "10%", { orders: JSON.parse(text) });
    expect(back.kind === "static" && back.keep).toEqual(s.kind === "static" && s.keep);
    expect(() => referenceOrders(build("uniform"))).toThrow('schedule: field "method" must be "heatkv" to export HeatKV orders, got "uniform"');
  });
});

describe("import: forged values that used to pass silently are refused (reliability)", () => {
  const base = () => JSON.parse(stringifySchedule(build("heatkv"))) as Record<string, any>;
  const dyn = () => JSON.parse(stringifySchedule(build("uniform"))) as Record<string, any>;
  it("a dynamic count that would wrap through Int32Array (2^32 + 1 → 1)", () => {
    const d = dyn();
    d.targets[1].count[0][0] = 4294967297;
    expect(() => importSchedule(d, demo)).toThrow(
      'schedule.json: field "targets[1].count[0][0]" count 4294967297 exceeds the 5 entries that can exist entering scale 2',
    );
    d.targets[1].count[0][0] = 2 ** 31;
    expect(() => importSchedule(d, demo)).toThrow(/count 2147483648 exceeds/);
  });
  it("a model.id that contradicts the config hash", () => {
    expect(() => importSchedule({ ...base(), model: { ...base().model, id: "other-model" } }, demo)).toThrow(
      /field "model.id" is "other-model" but the loaded model is "heatkv-emoji-var-v1"/,
    );
  });
  it("heatkv params.sigma out of range, or contradicting the keep lists", () => {
    expect(() => importSchedule({ ...base(), params: { sigma: 99, strict: false } }, demo)).toThrow(
      'schedule.json: field "params.sigma" must be in [0, 5] (at least one eligible source scale), got 99',
    );
    // the file says σ = 3 but a head drops sink scale 1 (and the bytes still fit)
    const b = base();
    for (let t = 1; t < b.targets.length; t++) b.targets[t].keep[0][0] = b.targets[t].keep[0][0].filter((s: number) => s !== 1);
    expect(() => importSchedule(b, demo)).toThrow(
      /field "targets\[1\]\.keep\[0\]\[0\]" drops sink scale 1, but params.sigma = 3 keeps scales 0..2 in every head/,
    );
  });
  it("params named like Object.prototype members are unknown parameters", () => {
    expect(() => importSchedule({ ...base(), params: { sigma: 3, strict: false, constructor: 1 } }, demo)).toThrow(
      'field "params.constructor" is not a parameter of method "heatkv"',
    );
    expect(() => buildSchedule("uniform", demo, "10%", { params: { toString: 1 } })).toThrow('field "params.toString" is not a parameter of method "uniform"');
  });
  it("budget fields that contradict budget.given or the model, maxCacheTokens and duplicate keep entries", () => {
    const b = base();
    expect(() => importSchedule({ ...b, budget: { ...b.budget, unit: "bytes" } }, demo)).toThrow(
      'field "budget.unit" is "bytes" but budget.given "25%" is in "percent"',
    );
    expect(() => importSchedule({ ...b, budget: { ...b.budget, tokens: b.budget.tokens + 1 } }, demo)).toThrow(
      /field "budget.tokens" is .* but ratio 0.25 of the full cache is 1092 token slots/,
    );
    expect(() => importSchedule({ ...b, budget: { ...b.budget, denominator: "a smaller cache" } }, demo)).toThrow(
      /field "budget.denominator" does not describe this model's full cache/,
    );
    expect(() => importSchedule({ ...b, model: { ...b.model, maxCacheTokens: 90 } }, demo)).toThrow(
      'field "model.maxCacheTokens" must be Σ n_s over all but the last scale = 91, got 90',
    );
    const d = base();
    d.targets[2].keep[0][0] = [0, 0, 1];
    expect(() => importSchedule(d, demo)).toThrow('field "targets[2].keep[0][0][1]" keep lists must be strictly ascending, got 0 after 0');
  });
  it("a UTF-8 byte-order mark is accepted", () => {
    const text = stringifySchedule(build("heatkv"));
    expect(parseScheduleJson(`\ufeff${text}`, demo).method).toBe("heatkv");
  });
  it("deep nesting is a one-line error naming the field, not a stack overflow", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => importSchedule({ ...base(), details: { x: deep } }, demo)).toThrow(
      /^schedule.json: field "details\.x(\[0\])+" is nested more than 32 levels deep/,
    );
  });
});

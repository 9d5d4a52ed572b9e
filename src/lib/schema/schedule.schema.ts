/**
 * JSON Schema (draft-07) of "heatkv-schedule/1", for the registered method names (the schedule library passes
 * them: src/lib/schedules/json.ts SCHEDULE_JSON_SCHEMA). schedule.schema.json is that object written out
 * (tests/schedules/json.test.ts checks they are identical; HEATKV_WRITE_SCHEMA=1 rewrites the file).
 * Structure only: the semantic rules (shapes match the model, keep lists ⊂ earlier scales, nothing
 * re-added, budget respected) are checked by src/lib/schedules/json.ts.
 */
import { SCHEDULE_FORMAT_VERSION, SCORER_NAMES } from "./schedule.js";

const posInt = { type: "integer", minimum: 1 };
const intList = { type: "array", items: { type: "integer", minimum: 0 } };

export const scheduleJsonSchema = <M extends string>(methodNames: readonly M[]) =>
  ({
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://heatkv.workbench/schemas/schedule.schema.json",
    title: "HeatKV Workbench KV-cache schedule",
    description: "Which KV-cache entries every (layer, head) keeps while each target scale of a VAR model is generated. See docs/schedule-format.md.",
    type: "object",
    additionalProperties: false,
    required: ["version", "model", "method", "params", "budget", "kind", "targets", "details"],
    properties: {
      version: { const: SCHEDULE_FORMAT_VERSION },
      model: {
        type: "object",
        additionalProperties: false,
        required: ["id", "configHash", "patchNums", "tokensPerScale", "numLayers", "numHeads", "headDim", "maxCacheTokens"],
        properties: {
          id: { type: "string", minLength: 1 },
          configHash: { type: "string", minLength: 1 },
          patchNums: { type: "array", minItems: 2, maxItems: 31, items: posInt },
          tokensPerScale: { type: "array", minItems: 2, maxItems: 31, items: posInt },
          numLayers: posInt,
          numHeads: posInt,
          headDim: posInt,
          maxCacheTokens: posInt,
        },
      },
      method: { enum: [...methodNames] },
      params: { type: "object", additionalProperties: { type: ["number", "boolean", "string"] } },
      budget: {
        type: "object",
        additionalProperties: false,
        required: ["given", "unit", "ratio", "tokens", "bytes", "bytesPerElement", "rows", "denominator"],
        properties: {
          given: { type: "string", minLength: 1 },
          unit: { enum: ["ratio", "percent", "bytes", "tokens"] },
          ratio: { type: "number", exclusiveMinimum: 0, maximum: 1 },
          tokens: { type: "number", exclusiveMinimum: 0 },
          bytes: { type: "number", exclusiveMinimum: 0 },
          bytesPerElement: { enum: [2, 4] },
          rows: posInt,
          denominator: { type: "string", minLength: 1 },
        },
      },
      kind: { enum: ["static", "dynamic"] },
      scorer: {
        type: "object",
        additionalProperties: false,
        required: ["recentRatio", "window", "poolKernel"],
        properties: {
          recentRatio: { type: "number", minimum: 0, maximum: 1 },
          window: { type: "integer", minimum: 0 },
          poolKernel: { type: "integer", minimum: 1 },
        },
      },
      rules: { type: "array", items: { type: "array", items: { enum: [...SCORER_NAMES] } } },
      targets: {
        type: "array",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["scale"],
          properties: {
            scale: posInt,
            keep: { type: "array", items: { type: "array", items: intList } },
            count: { type: "array", items: intList },
          },
        },
      },
      lowRank: {
        type: "object",
        additionalProperties: false,
        required: ["variant", "rankRatio", "groupSize", "keyWidth", "valueWidth", "groups"],
        properties: {
          variant: { type: "string", minLength: 1 },
          rankRatio: { type: "number", exclusiveMinimum: 0, maximum: 1 },
          groupSize: posInt,
          keyWidth: posInt,
          valueWidth: posInt,
          groups: { type: "array", items: { type: "array", items: { type: "array", minItems: 1, items: { type: "integer", minimum: 0 } } } },
          sigma: { type: "integer", minimum: 0 },
        },
      },
      details: { type: "object" },
    },
    allOf: [
      {
        if: { properties: { kind: { const: "static" } } },
        then: {
          properties: { targets: { items: { required: ["keep"], properties: { keep: true, count: false } } }, scorer: false, rules: false },
        },
      },
      {
        if: { properties: { kind: { const: "dynamic" } } },
        then: {
          required: ["scorer", "rules"],
          properties: { scorer: true, rules: true, lowRank: false, targets: { items: { required: ["count"], properties: { count: true, keep: false } } } },
        },
      },
    ],
  }) as const;

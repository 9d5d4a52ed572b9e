/**
 * The ReCalKV variants of a model (data/model/recalkv/recalkv.json, written by train/recalkv.py): alternative
 * step graphs with a low-rank key latent per group of heads and a low-rank value latent per head.
 * Browser-safe: parsed here, used by the runtime (VarModel.lowRank, var/lowrank.ts checks the graph bytes)
 * and by the schedule methods (recalkv, heatkv+recalkv) to know the latent widths and the head groups.
 */
import { ConfigError } from "./config.js";

export const LOW_RANK_MANIFEST = "recalkv/recalkv.json";
export const LOW_RANK_VERSION = "heatkv-recalkv/1";

export interface LowRankVariant {
  /** e.g. "r50" */
  id: string;
  /** latent width / full width, for keys and values alike */
  rankRatio: number;
  groupSize: number;
  numGroups: number;
  /** r_k: key latent width per (layer, group) */
  keyLatentWidth: number;
  /** r_v: value latent width per (layer, head) */
  valueLatentWidth: number;
  /** groups[layer][group] = ascending heads */
  groups: number[][][];
  /** step graph, relative to the model folder */
  file: string;
  /**
   * sha256 (first 16 hex digits) of the step graph, as written by train/recalkv.py; required by
   * parseLowRankManifest and checked against the file's bytes by VarModel.lowRank (synthetic manifests,
   * which never load a graph, have none)
   */
  fileSha256?: string;
  /** measured by train/recalkv.py (held-out CE, reconstruction errors, logit deltas) */
  quality: Record<string, number>;
}

export interface LowRankManifest {
  version: string;
  modelId: string;
  configHash: string;
  weightsHash: string;
  variants: LowRankVariant[];
}

/** The physical layout of a variant's latent cache (LatentCache, and a low-rank schedule's lowRank part). */
export interface LowRankLayout {
  /** key latent width per group (r_k) */
  keyWidth: number;
  /** value latent width per head (r_v) */
  valueWidth: number;
  /** groups[layer] = list of groups, each the ascending heads in it */
  groups: number[][][];
}

interface ModelDims {
  modelId: string;
  configHash: string;
  weightsHash?: string;
  numLayers: number;
  numHeads: number;
  headDim: number;
}

/** Python's round() (half to even), which train/recalkv.py uses for the latent widths. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const r = x - f;
  return r > 0.5 ? f + 1 : r < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

/**
 * The latent widths a rank ratio implies (train/recalkv.py factorise: rk = round(ratio·g·d),
 * rv = round(ratio·d), at least 1): key latent per group of `groupSize` heads, value latent per head.
 */
export function latentWidths(rankRatio: number, groupSize: number, headDim: number): { keyWidth: number; valueWidth: number } {
  return { keyWidth: Math.max(1, roundHalfEven(rankRatio * groupSize * headDim)), valueWidth: Math.max(1, roundHalfEven(rankRatio * headDim)) };
}

/** Validate recalkv.json (and, given the loaded model, that it was made for it). One line naming the field. */
export function parseLowRankManifest(raw: unknown, model?: ModelDims, source = LOW_RANK_MANIFEST): LowRankManifest {
  const need = (cond: unknown, field: string, msg: string): void => {
    if (!cond) throw new ConfigError(source, field, msg);
  };
  need(raw && typeof raw === "object" && !Array.isArray(raw), "(root)", "must be a JSON object");
  const r = raw as Record<string, unknown>;
  need(r.version === LOW_RANK_VERSION, "version", `must be "${LOW_RANK_VERSION}", got ${JSON.stringify(r.version)}`);
  for (const k of ["model_id", "config_hash", "weights_hash"]) need(typeof r[k] === "string" && (r[k] as string).length > 0, k, "must be a non-empty string");
  if (model) {
    need(
      r.config_hash === model.configHash,
      "config_hash",
      `is ${JSON.stringify(r.config_hash)} but the loaded model has ${JSON.stringify(model.configHash)}: these variants were made for another model`,
    );
    if (model.weightsHash && model.weightsHash !== "unknown") {
      need(
        r.weights_hash === model.weightsHash,
        "weights_hash",
        `is ${JSON.stringify(r.weights_hash)} but the loaded model's weights are ${JSON.stringify(model.weightsHash)}: re-run train/recalkv.py`,
      );
    }
  }
  need(Array.isArray(r.variants) && r.variants.length > 0, "variants", "must be a non-empty array");
  const ids = new Set<string>();
  const variants = (r.variants as Record<string, unknown>[]).map((v, i) => {
    const f = (k: string) => `variants[${i}].${k}`;
    need(v && typeof v === "object", `variants[${i}]`, "must be an object");
    need(typeof v.id === "string" && /^[a-z0-9_-]+$/i.test(v.id) && !ids.has(v.id), f("id"), `must be a unique identifier, got ${JSON.stringify(v.id)}`);
    ids.add(v.id as string);
    need(typeof v.rankRatio === "number" && v.rankRatio > 0 && v.rankRatio <= 1, f("rankRatio"), `must be in (0, 1], got ${JSON.stringify(v.rankRatio)}`);
    for (const k of ["groupSize", "numGroups", "keyLatentWidth", "valueLatentWidth"])
      need(Number.isInteger(v[k]) && (v[k] as number) > 0, f(k), `must be a positive integer, got ${JSON.stringify(v[k])}`);
    need(typeof v.file === "string" && v.file.length > 0, f("file"), "must be a file name");
    need(
      typeof v.fileSha256 === "string" && /^[0-9a-f]{16}$/.test(v.fileSha256),
      f("fileSha256"),
      `must be the step graph's sha256 (16 lowercase hex digits, written by train/recalkv.py), got ${JSON.stringify(v.fileSha256)}`,
    );
    const groups = v.groups as number[][][];
    need(Array.isArray(groups), f("groups"), "must be an array (per layer, per group: heads)");
    if (model) {
      const { numLayers: L, numHeads: H, headDim: d } = model;
      need((v.groupSize as number) * (v.numGroups as number) === H, f("numGroups"), `× groupSize must equal the ${H} heads`);
      need((v.keyLatentWidth as number) <= (v.groupSize as number) * d, f("keyLatentWidth"), `must be ≤ groupSize × headDim = ${(v.groupSize as number) * d}`);
      need((v.valueLatentWidth as number) <= d, f("valueLatentWidth"), `must be ≤ headDim = ${d}`);
      const w = latentWidths(v.rankRatio as number, v.groupSize as number, d);
      need(
        v.keyLatentWidth === w.keyWidth,
        f("keyLatentWidth"),
        `is ${v.keyLatentWidth} but rankRatio ${v.rankRatio} × groupSize ${v.groupSize} × headDim ${d} gives ${w.keyWidth}`,
      );
      need(
        v.valueLatentWidth === w.valueWidth,
        f("valueLatentWidth"),
        `is ${v.valueLatentWidth} but rankRatio ${v.rankRatio} × headDim ${d} gives ${w.valueWidth}`,
      );
      need(Array.isArray(groups) && groups.length === L, f("groups"), `must list ${L} layers`);
      groups.forEach((gs, l) => {
        const seen = new Set<number>();
        need(Array.isArray(gs) && gs.length === v.numGroups, `${f("groups")}[${l}]`, `must list ${v.numGroups} groups`);
        for (const g of gs) {
          need(Array.isArray(g) && g.length === v.groupSize, `${f("groups")}[${l}]`, `every group must hold ${v.groupSize} heads, got ${JSON.stringify(g)}`);
          need(
            g.every((h, i) => i === 0 || h > g[i - 1]),
            `${f("groups")}[${l}]`,
            `must partition heads 0..${H - 1} into groups of ascending heads, got ${JSON.stringify(g)} (not ascending)`,
          );
          for (const h of g) {
            need(Number.isInteger(h) && h >= 0 && h < H && !seen.has(h), `${f("groups")}[${l}]`, `must partition heads 0..${H - 1}, got ${JSON.stringify(gs)}`);
            seen.add(h);
          }
        }
      });
    }
    return {
      id: v.id as string,
      rankRatio: v.rankRatio as number,
      groupSize: v.groupSize as number,
      numGroups: v.numGroups as number,
      keyLatentWidth: v.keyLatentWidth as number,
      valueLatentWidth: v.valueLatentWidth as number,
      groups: groups.map((gs) => gs.map((g) => [...g])),
      file: v.file as string,
      fileSha256: v.fileSha256 as string,
      quality: { ...((v.quality as Record<string, number>) ?? {}) },
    };
  });
  return { version: r.version as string, modelId: r.model_id as string, configHash: r.config_hash as string, weightsHash: r.weights_hash as string, variants };
}

/** The variant with this id (or rank ratio), or one line listing the shipped ones. */
export function findVariant(m: LowRankManifest, id: string | number, source = "recalkv", field = "variant"): LowRankVariant {
  const v = m.variants.find((x) => x.id === id || x.rankRatio === Number(id));
  if (!v)
    throw new ConfigError(
      source,
      field,
      `must be one of the shipped variants ${m.variants.map((x) => `${x.id} (rank ratio ${x.rankRatio})`).join(", ")}, got ${JSON.stringify(id)}`,
    );
  return v;
}

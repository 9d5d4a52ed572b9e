/**
 * Integrity of the ReCalKV variant graphs (the manifest itself is a model fact: model/lowrank.ts): a graph's
 * bytes are checked against recalkv.json's fileSha256 before the runtime loads it.
 */
import { LOW_RANK_MANIFEST, type LowRankVariant } from "../model/lowrank.js";
import { sha256Hex } from "../model/sha256.js";

/**
 * Check a variant's step-graph bytes against the manifest's fileSha256. Head groups are invisible in the
 * graph's input names, so a graph from another run (e.g. train/recalkv.py stopped between files) would
 * otherwise load and silently compute wrong keys.
 */
export async function checkVariantFile(v: LowRankVariant, bytes: Uint8Array, manifest = LOW_RANK_MANIFEST): Promise<void> {
  const base = manifest.split("/").pop();
  if (!v.fileSha256) throw new Error(`${v.file}: ${base} records no fileSha256 for variant ${v.id} — re-run train/recalkv.py`);
  let full: string;
  try {
    full = await sha256Hex(bytes);
  } catch (e) {
    throw new Error(`${v.file}: cannot check it against ${base}'s fileSha256 (${(e as Error).message})`);
  }
  const got = full.slice(0, v.fileSha256.length);
  if (got !== v.fileSha256)
    throw new Error(`${v.file}: sha256 ${got} does not match ${base}'s fileSha256 ${v.fileSha256} for variant ${v.id} — re-run train/recalkv.py`);
}

/**
 * Integrity of the ReCalKV variant graphs (the manifest itself is a model fact: model/lowrank.ts): a graph's
 * bytes are checked against recalkv.json's fileSha256 before the runtime loads it.
 */
import { LOW_RANK_MANIFEST, type LowRankVariant } from "../model/lowrank.js";
import { sha256Bytes } from "./sha256.js";

/**
 * sha256 of `bytes` as hex: Web Crypto where it exists (Node ≥ 20, browsers in secure contexts), else the
 * plain-TypeScript implementation (a static report served over plain http has no crypto.subtle).
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  const d = subtle ? new Uint8Array(await subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)) : sha256Bytes(bytes);
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

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
  if (got !== v.fileSha256) throw new Error(`${v.file}: sha256 ${got} does not match ${base}'s fileSha256 ${v.fileSha256} for variant ${v.id} — re-run train/recalkv.py`);
}


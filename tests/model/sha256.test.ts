import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Bytes } from "../../src/lib/model/sha256.js";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const ref = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("sha256 fallback (no Web Crypto on plain-http pages)", () => {
  it("FIPS 180-4 test vectors", () => {
    expect(hex(sha256Bytes(new Uint8Array(0)))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hex(sha256Bytes(new TextEncoder().encode("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex(sha256Bytes(new TextEncoder().encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("equals node:crypto on every length around the 64-byte block edges and on a real step graph", () => {
    const data = new Uint8Array(200).map((_, i) => (i * 37 + 11) & 255);
    for (let n = 0; n <= 200; n++) expect(hex(sha256Bytes(data.subarray(0, n))), `length ${n}`).toBe(ref(data.subarray(0, n)));
    const graph = new Uint8Array(readFileSync(join(import.meta.dirname, "..", "..", "data", "model", "recalkv", "step_r25.onnx")));
    expect(hex(sha256Bytes(graph))).toBe(ref(graph));
  });
});

/** PNG output for generated images (writeAtomic: temp file then rename, the temp file removed on failure). */
import { writeAtomic } from "./files.js";
import { PNG } from "pngjs";
import { imageToRgba } from "../src/lib/var/runtime.js";

/** Lay out [3,S,S] images in a grid of `cols` columns with a white `pad` px gutter. */
export function gridRgba(images: Float32Array[], size: number, cols: number, pad = 2): { width: number; height: number; data: Uint8Array } {
  const rows = Math.ceil(images.length / cols);
  const width = cols * (size + pad) + pad;
  const height = rows * (size + pad) + pad;
  const data = new Uint8Array(width * height * 4).fill(255);
  images.forEach((img, i) => {
    const rgba = imageToRgba(img, size);
    const x0 = pad + (i % cols) * (size + pad);
    const y0 = pad + Math.floor(i / cols) * (size + pad);
    for (let y = 0; y < size; y++) data.set(rgba.subarray(y * size * 4, (y + 1) * size * 4), ((y0 + y) * width + x0) * 4);
  });
  return { width, height, data };
}

export function writePng(path: string, img: { width: number; height: number; data: Uint8Array }): void {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  writeAtomic(path, PNG.sync.write(png));
}

// Small helpers for showing float tensors in a page: summary statistics and an RGB image on a canvas.

export interface TensorStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  nonFinite: number;
}

export function tensorStats(data: ArrayLike<number>): TensorStats {
  let min = Infinity,
    max = -Infinity,
    sum = 0,
    sum2 = 0,
    n = 0,
    nonFinite = 0;
  for (let i = 0; i < data.length; ++i) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      ++nonFinite;
      continue;
    }
    (++n, (sum += v), (sum2 += v * v));
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = n ? sum / n : NaN;
  return { count: data.length, min, max, mean, std: n ? Math.sqrt(Math.max(0, sum2 / n - mean * mean)) : NaN, nonFinite };
}

/** Largest |a[i] − b[i]| (Infinity when the lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; ++i) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** [1, 3, H, W] values in [0, 1] (clamped) → RGBA bytes, row-major. */
export function chwToRgba(data: ArrayLike<number>, height: number, width: number): Uint8ClampedArray<ArrayBuffer> {
  const plane = height * width;
  if (data.length !== 3 * plane) throw new Error(`expected 3×${height}×${width} values, got ${data.length}`);
  const rgba = new Uint8ClampedArray(new ArrayBuffer(4 * plane));
  for (let p = 0; p < plane; ++p) {
    for (let c = 0; c < 3; ++c) rgba[4 * p + c] = Math.round(255 * Math.min(1, Math.max(0, data[c * plane + p])));
    rgba[4 * p + 3] = 255;
  }
  return rgba;
}

/** Draw a [1, 3, H, W] image tensor on a canvas, shown `scale`× larger with crisp pixels. */
export function imageCanvas(data: ArrayLike<number>, dims: readonly number[], { scale = 4, label = "decoded image" } = {}): HTMLCanvasElement {
  const [, channels, height, width] = dims;
  if (dims.length !== 4 || channels !== 3) throw new Error(`expected an image tensor [1, 3, H, W], got [${dims.join(", ")}]`);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width * scale}px`;
  canvas.style.height = `${height * scale}px`;
  canvas.style.imageRendering = "pixelated";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  canvas.dataset.dims = dims.join("x");
  const context = canvas.getContext("2d");
  if (!context) throw new Error("no 2D canvas context");
  context.putImageData(new ImageData(chwToRgba(data, height, width), width, height), 0, 0);
  return canvas;
}

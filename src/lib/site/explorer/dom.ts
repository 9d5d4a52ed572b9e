// DOM helpers shared by the head explorer's views: element and <select> builders, HiDPI canvas sizing.
export const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
};

/** A labelled <select> (data-testid = testid) that calls `on` with the picked value (a number when `value` is one). */
export function select<T extends string | number>(
  label: string,
  testid: string,
  options: { value: T; text: string }[],
  value: T,
  on: (v: T) => void,
): HTMLLabelElement {
  const s = el("select", { "data-testid": testid });
  for (const o of options) s.append(el("option", { value: String(o.value) }, o.text));
  s.value = String(value);
  s.addEventListener("change", () => on((typeof value === "number" ? Number(s.value) : s.value) as T));
  return el("label", { class: "hx-control" }, `${label} `, s);
}

/** Size a canvas to w × h CSS pixels at 2 device pixels per pixel (sharp on HiDPI and in PNG exports); its 2-D context drawing in CSS pixels. */
export function sizeCanvas(canvas: HTMLCanvasElement, w: number, h: number): CanvasRenderingContext2D {
  const dpr = 2;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const c = canvas.getContext("2d")!;
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  return c;
}

/** An RGBA byte array as an off-screen canvas of w × h pixels. */
export function rgbaCanvas(rgba: Uint8ClampedArray, w: number, h: number): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  const img = new ImageData(w, h);
  img.data.set(rgba);
  c.getContext("2d")!.putImageData(img, 0, 0);
  return c;
}

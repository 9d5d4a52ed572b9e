// Compare view of the head explorer: beside the detail, a second head or the same head on a second image
// (same rows, colour and normalisation), and the "compare with" controls; with "a cache schedule" the detail
// itself greys the blocks the schedule drops (./head-detail.ts resolveSchedule). compareTarget() is the pure
// state → view step.
import type { ExplorerState } from "../explorer-state.js";
import type { ExplorerContext } from "./context.js";
import { el, select } from "./dom.js";
import { drawMatrix, headFacts } from "./head-detail.js";

/** Budgets (% of the full cache) offered for a schedule comparison. */
export const SCHEDULE_BUDGETS_PERCENT = [5, 10, 20, 30, 50, 75];

/** What the compare panel shows: hidden, or which image and head. */
export function compareTarget(state: ExplorerState): { hidden: true } | { hidden: false; image: number; layer: number; head: number } {
  if (state.cmp !== "head" && state.cmp !== "image") return { hidden: true };
  const image = state.cmp === "image" ? state.cmpImage : state.image;
  const [layer, head] = state.cmp === "head" ? [state.cmpLayer, state.cmpHead] : [state.layer, state.head];
  return { hidden: false, image, layer, head };
}

/** The "compare with" controls (and the picked head / image / schedule and budget). */
export function compareControls(ctx: ExplorerContext): HTMLElement[] {
  const state = ctx.state();
  const H = ctx.dims.numHeads;
  const heads = Array.from({ length: ctx.dims.numLayers * H }, (_, i) => ({ value: i, text: ctx.headLabel(i) }));
  const schedOpts = (ctx.opts.scheduleMethods ?? []).map((m) => ({ value: m, text: m }));
  return [
    select(
      "compare with",
      "hx-cmp",
      [
        { value: "none", text: "nothing" },
        { value: "head", text: "another head" },
        { value: "image", text: "another image" },
        ...(schedOpts.length ? [{ value: "schedule", text: "a cache schedule" }] : []),
      ],
      state.cmp,
      (v) => void ctx.update({ cmp: v as ExplorerState["cmp"] }),
    ),
    ...(state.cmp === "head"
      ? [select("head", "hx-cmp-head", heads, state.cmpLayer * H + state.cmpHead, (v) => void ctx.update({ cmpLayer: Math.floor(v / H), cmpHead: v % H }))]
      : []),
    ...(state.cmp === "image"
      ? [
          select(
            "image",
            "hx-cmp-image",
            ctx.idx.images.map((_, i) => ({ value: i, text: ctx.imageLabel(i) })),
            state.cmpImage,
            (v) => void ctx.update({ cmpImage: v }),
          ),
        ]
      : []),
    ...(state.cmp === "schedule"
      ? [
          select("method", "hx-sched", schedOpts, state.sched, (v) => void ctx.update({ sched: v })),
          select(
            "budget",
            "hx-budget",
            SCHEDULE_BUDGETS_PERCENT.map((b) => ({ value: b, text: `${b} %` })),
            state.budget,
            (v) => void ctx.update({ budget: v }),
          ),
        ]
      : []),
  ];
}

export function createCompare(ctx: ExplorerContext) {
  const canvas = el("canvas", { "data-testid": "hx-compare", class: "hx-canvas" });
  const title = el("h3", { "data-testid": "hx-compare-title" });
  const info = el("div", { class: "hx-info", "data-testid": "hx-compare-info" });
  const box = el("div", {}, title, canvas, info);
  let titleText = "";
  async function draw(): Promise<void> {
    const state = ctx.state();
    const target = compareTarget(state);
    box.hidden = target.hidden;
    if (target.hidden) return;
    const { image, layer: l, head: h } = target;
    titleText = `compare: ${ctx.headLabel(l * ctx.dims.numHeads + h)} · ${ctx.imageLabel(image)} · ${state.branch}`;
    title.replaceChildren(`${titleText} `, ctx.exportButtons("compare"));
    if (!ctx.matrices.hasMatrix(l, h)) return void (info.textContent = "no stored matrix for this head");
    const A = await ctx.matrices.get(image, state.branch, l, h);
    drawMatrix(ctx, state, canvas, A, null);
    const r = ctx.headRows(image, state.branch)[l * ctx.dims.numHeads + h];
    info.textContent = r ? headFacts(r) : "";
  }
  return { canvas, box, draw, title: () => titleText };
}

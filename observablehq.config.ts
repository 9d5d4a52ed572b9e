// Observable Framework config for the HeatKV Workbench site (built to dist/ by `npm run build`).
// Offline rules (see tools/prefill-framework-cache.ts and README): no global stylesheets (they point at
// Google Fonts), no DuckDB extensions (they are downloaded at build time), every import from node_modules.
export default {
  title: "HeatKV Workbench",
  root: "src",
  output: process.env.HEATKV_DIST ?? "dist",
  pages: [
    { name: "Head heatmaps", path: "/heatmaps" },
    { name: "Head explorer", path: "/explorer" },
    { name: "Calibration", path: "/calibration" },
    { name: "Schedule builder", path: "/schedules" },
    { name: "Quality vs memory", path: "/quality" },
    { name: "Side by side / live", path: "/compare" },
    { name: "Report", path: "/report" },
    { name: "System check", path: "/system" },
  ],
  globalStylesheets: [],
  // Inline icon: no /favicon.ico request (the e2e tests fail on any 404).
  head: `<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 100'%3E%3Ctext y='.9em' font-size='90'%3E%F0%9F%94%A5%3C/text%3E%3C/svg%3E">`,
  duckdb: { extensions: { json: null, parquet: null } },
  style: "style.css",
  search: false,
  toc: true,
  pager: true,
  footer: "HeatKV Workbench — static site, self-hosted from node_modules, no CDN.",
};

// The quality page's modules in one import (quality.md, report.md): cells and metric options
// (./quality/cells.ts), the chart (./quality/chart.ts), the tables (./quality/table.ts) and the headline
// (./quality/headline.ts), the paired verdicts (./quality/verdict.ts) and the series styles (./quality/style.ts). The side-by-side page's runner and views are ./compare/runner.ts and ./compare/view.ts;
// SWEEP_SAMPLER is re-exported here for the sweep's tests.
export { byCodePoint, type Cell, cellsSql, METRIC_OPTIONS, type MetricOption, metricOption, pct, queryCells, toCells } from "./quality/cells.js";
export { chartData, qualityChart } from "./quality/chart.js";
export { headlineRows, headlineTable, headlineText, queryHeadline } from "./quality/headline.js";
export { cellRows, cellsTable, infeasibleLines, infeasibleSummary, infeasibleTable, tuneRows, tuneTable } from "./quality/table.js";
export { seriesStyles } from "./quality/style.js";
export { pairedHeadlineTable, queryPairedCells, verdictMatrix, verdictSentence, verdictText } from "./quality/verdict.js";
export { SWEEP_SAMPLER } from "./compare/runner.js";

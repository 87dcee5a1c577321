// The dashboard's one script (bundled by esbuild into dist/dashboard/assets/app.js with uPlot):
// live refresh of `<main>`, action buttons as JSON POSTs to the API, selection boxes, and the
// metrics charts. The pages work without it, minus those.

import 'uplot/dist/uPlot.min.css';
import './app.css';
import { bindActions } from './actions';
import { drawCharts } from './charts';
import { startRefresh } from './refresh';

function start(): void {
  bindActions();
  drawCharts();
  startRefresh(drawCharts);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();

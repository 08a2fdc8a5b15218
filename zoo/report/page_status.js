// Shared by report.html's and the sweep report's scripts (embedded before them): how a page
// reports what it drew in #zg-status, for the browser test (tests/tools/report_browser.sh).
'use strict';

// A chart counts as drawn when its canvas holds a painted pixel.
function zgPainted(chart) {
  const {width, height} = chart.canvas;
  if (!width || !height) return false;
  const px = chart.ctx.getImageData(0, 0, width, height).data;
  for (let i = 3; i < px.length; i += 4)
    if (px[i] !== 0) return true;
  return false;
}

// The script of a sweep's report.html (tools/sweep/sweep_report.cpp embeds it, with Chart.js).
// It draws the data in <script id="zg-data">: quality against cost per candidate (the Pareto
// front in red), the runs' quality per value of each axis that varies, and the ranked table.
// #zg-status says what was drawn, for the browser test (tests/tools/report_browser.sh).
(() => {
'use strict';
const status = document.getElementById('zg-status');
const errors = [];
window.addEventListener('error', (e) => {
  errors.push(String(e.message));
  status.dataset.errors = JSON.stringify(errors);
});
const data = JSON.parse(document.getElementById('zg-data').textContent);
const root = document.getElementById('zg-sweep');
const quality = data.images ? 'FID (median over seeds; lower is better)'
                            : 'high quality × modes (median; higher is better)';
const charts = [];
const fmt = (v) => (v === null || v === undefined ? '' : Number(Number(v).toPrecision(4)));

function heading(text, level = 'h2') {
  const h = document.createElement(level);
  h.textContent = text;
  root.appendChild(h);
}

function chartBox(height) {
  const box = document.createElement('div');
  box.className = 'zg-chart';
  box.style.height = height + 'px';
  const canvas = document.createElement('canvas');
  box.appendChild(canvas);
  root.appendChild(box);
  return canvas;
}

// Quality against cost, one point per scored candidate.
function drawFront() {
  const scored = data.candidates.filter((c) => c.q !== null && c.cpu !== null);
  heading('Quality against cost');
  if (!scored.length) {
    root.appendChild(document.createTextNode('No candidate was scored.'));
    return;
  }
  const point = (c) => ({x: c.cpu, y: c.q, label: c.candidate});
  charts.push(new Chart(chartBox(360), {
    type: 'scatter',
    data: {datasets: [
      {label: 'Pareto front', data: scored.filter((c) => c.front).map(point),
       backgroundColor: '#d62728', pointRadius: 6},
      {label: 'others', data: scored.filter((c) => !c.front).map(point),
       backgroundColor: '#1f77b4', pointRadius: 4},
    ]},
    options: {
      animation: false, maintainAspectRatio: false,
      scales: {x: {title: {display: true, text: 'CPU seconds per step (median)'}},
               y: {title: {display: true, text: quality}}},
      plugins: {tooltip: {callbacks: {label: (c) => c.raw.label + ': ' + fmt(c.raw.y) +
                                                     ' at ' + fmt(c.raw.x) + ' s/step'}}},
    },
  }));
}

// Per axis that varies: every scored run's quality at each of the axis's values.
function drawAxes() {
  const axes = new Map();
  for (const c of data.candidates)
    for (const [axis, value] of Object.entries(c.axes)) {
      if (!axes.has(axis)) axes.set(axis, new Set());
      axes.get(axis).add(value);
    }
  for (const [axis, values] of axes) {
    if (values.size < 2) continue;
    const names = [...values];
    heading('Quality per value of "' + axis + '"', 'h3');
    const points = [];
    for (const c of data.candidates)
      for (const q of c.quality) points.push({x: names.indexOf(c.axes[axis]), y: q, label: c.candidate});
    charts.push(new Chart(chartBox(260), {
      type: 'scatter',
      data: {datasets: [{label: 'runs', data: points, backgroundColor: '#1f77b4aa'}]},
      options: {
        animation: false, maintainAspectRatio: false,
        scales: {
          // One tick per value, named as the grid spells it.
          x: {min: -0.5, max: names.length - 0.5,
              afterBuildTicks: (scale) => {
                scale.ticks = names.map((_, i) => ({value: i}));
              },
              ticks: {callback: (v) => names[v] || '(none)'}},
          y: {title: {display: true, text: data.images ? 'FID' : 'high quality × modes'}},
        },
        plugins: {tooltip: {callbacks: {label: (c) => c.raw.label + ': ' + fmt(c.raw.y)}}},
      },
    }));
  }
}

function drawTable() {
  heading('Ranked candidates');
  const table = document.createElement('table');
  const head = table.insertRow();
  for (const h of ['rank', 'candidate', 'flags', 'scored runs', quality, 'interval',
                   data.images ? 'recall' : 'modes', 'diverged', 'CPU s/step', 'front'])
    head.insertCell().textContent = h;
  for (const c of data.candidates) {
    const row = table.insertRow();
    for (const v of [c.rank, c.candidate, c.flags, c.ok + '/' + c.runs, fmt(c.q),
                     c.q === null ? c.reason : fmt(c.q_lo) + ' – ' + fmt(c.q_hi), fmt(c.diversity),
                     c.unstable === null ? '' : Math.round(100 * c.unstable) + '%', fmt(c.cpu),
                     c.front ? '●' : ''])
      row.insertCell().textContent = v;
  }
  root.appendChild(table);
  if (data.refused.length) {
    heading('Refused by zoograd train (not counted as failures)', 'h3');
    const list = document.createElement('ul');
    for (const c of data.refused) {
      const item = document.createElement('li');
      item.textContent = c.candidate + ' (' + c.flags + '): ' + c.reason;
      list.appendChild(item);
    }
    root.appendChild(list);
  }
}

try {
  drawFront();
  drawAxes();
  drawTable();
} catch (e) {
  errors.push(String(e && e.stack ? e.stack : e));
  status.dataset.errors = JSON.stringify(errors);
}
status.dataset.charts = charts.length;
status.dataset.drawn = charts.filter(zgPainted).length;
status.dataset.done = 'yes';
})();

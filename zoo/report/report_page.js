// The script of report.html (zoo/report/report.cpp embeds it, with Chart.js, into every page).
// It draws the run described by the JSON in <script id="zg-run"> (zoo/report/run_data.h lists
// its fields): one chart per scale, markers for resumes, health warnings and phase changes,
// TensorBoard-style smoothing, drag-to-zoom shared by every chart, the sample grids (or, for
// 2-D models, the samples over the data's modes) with a slider through time, and a reload every
// few seconds while the run is alive. The view (zoom, slider, scales, smoothing) is kept in
// localStorage, so a reload does not lose it. #zg-status says what was drawn, for the browser
// test (tests/tools/report_browser.sh).
(() => {
'use strict';

const status = document.getElementById('zg-status');
const errors = [];
function noteError(text) {
  errors.push(String(text));
  status.dataset.errors = JSON.stringify(errors);
}
window.addEventListener('error', (e) => noteError(e.message));
window.addEventListener('unhandledrejection', (e) => noteError(e.reason));

const run = JSON.parse(document.getElementById('zg-run').textContent);
const viewKey = 'zoograd-report:' + run.dir;
const view = Object.assign(
    {smoothing: 0.6, log: false, xmin: null, xmax: null, grid: null, points: null},
    JSON.parse(localStorage.getItem(viewKey) || '{}'));
function saveView() {
  localStorage.setItem(viewKey, JSON.stringify(view));
}

const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2'];
const charts = [];

// ---- numbers as people read them: 5 significant digits, no float noise ----
function fmt(v) {
  if (typeof v !== 'number') return JSON.stringify(v);
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(5)).toString();
}

// ---- which chart each logged key goes to: one chart per scale. `exact` charts (schedules,
// learning rates, sample quality) are never smoothed: their values are not noisy. ----
const scheduleKeys = new Set(['resolution', 'alpha', 'kimg']);
const qualityKeys = ['fid', 'kid', 'modes_covered', 'high_quality', 'precision', 'recall',
                     'coverage', 'density'];
function groupOf(key) {
  if (key.startsWith('loss')) return {id: 'loss', title: 'Losses', logable: true};
  if (key === 'd_real' || key === 'd_fake')
    return {id: 'd', title: 'Discriminator outputs: D(x) and D(G(z))'};
  if (key.startsWith('grad_norm')) return {id: 'grad', title: 'Gradient norms', logable: true};
  if (key.startsWith('lr_'))
    return {id: 'lr', title: 'Learning rates', logable: true, exact: true};
  if (key.includes('acc')) return {id: 'acc', title: 'Accuracy'};
  if (key === 'resolution')
    return {id: 'res', title: 'Resolution', section: 'schedule', exact: true, stepped: true};
  if (key === 'alpha') return {id: 'alpha', title: 'Fade-in α', section: 'schedule', exact: true};
  if (qualityKeys.includes(key)) {
    const titles = {fid: 'FID (zoograd features)', kid: 'KID ×10³ (zoograd features)'};
    return {id: key, title: titles[key] || key, section: 'quality', exact: true};
  }
  return {id: 'other:' + key, title: key};
}

// ---- smoothing: TensorBoard's debiased exponential moving average ----
function smooth(points, weight) {
  let last = 0, n = 0;
  return points.map(([x, y]) => {
    last = last * weight + (1 - weight) * y;
    n += 1;
    return {x: x, y: last / (1 - Math.pow(weight, n))};
  });
}

// ---- a vertical line per event: resumes, health warnings, phase changes ----
const markers = [];
for (const step of run.resumes) markers.push({step, color: '#555', dash: [4, 3], text: 'resumed'});
for (const w of run.warnings)
  markers.push({step: w.step, color: '#c00', dash: [], text: '⚠ ' + w.warning});
for (const p of run.phases.slice(1))
  markers.push({step: p.step, color: '#1f5fbf', dash: [2, 2],
                text: p.resolution + '×' + p.resolution + (p.fading ? ' fade' : '')});
const markerPlugin = {
  id: 'zgMarkers',
  afterDatasetsDraw(chart) {
    const {ctx, chartArea: a, scales: {x}} = chart;
    ctx.save();
    ctx.font = '10px sans-serif';
    for (const m of markers) {
      const px = x.getPixelForValue(m.step);
      if (!(px >= a.left && px <= a.right)) continue;
      ctx.strokeStyle = ctx.fillStyle = m.color;
      ctx.setLineDash(m.dash);
      ctx.beginPath();
      ctx.moveTo(px, a.top);
      ctx.lineTo(px, a.bottom);
      ctx.stroke();
      ctx.fillText(m.text, px + 2, a.top + 10);
    }
    ctx.restore();
  },
};

// ---- drag to zoom the step axis of every chart at once; double-click resets ----
function applyZoom() {
  for (const c of charts) {
    c.options.scales.x.min = view.xmin ?? undefined;
    c.options.scales.x.max = view.xmax ?? undefined;
    c.update('none');
  }
}
function setZoom(lo, hi) {
  view.xmin = lo;
  view.xmax = hi;
  saveView();
  applyZoom();
}
function enableDragZoom(chart, box) {
  const band = document.createElement('div');
  band.className = 'zg-band';
  box.appendChild(band);
  let from = null;
  chart.canvas.addEventListener('mousedown', (e) => {
    from = e.offsetX;
  });
  chart.canvas.addEventListener('mousemove', (e) => {
    if (from === null) return;
    band.style.display = 'block';
    band.style.left = Math.min(from, e.offsetX) + 'px';
    band.style.width = Math.abs(e.offsetX - from) + 'px';
  });
  window.addEventListener('mouseup', (e) => {
    if (from === null) return;
    band.style.display = 'none';
    const to = e.target === chart.canvas ? e.offsetX : from;
    if (Math.abs(to - from) > 4) {
      const x = chart.scales.x;
      const a = x.getValueForPixel(Math.min(from, to)), b = x.getValueForPixel(Math.max(from, to));
      setZoom(a, b);
    }
    from = null;
  });
  chart.canvas.addEventListener('dblclick', () => setZoom(null, null));
}

// ---- one chart: a canvas in its own box, its series, its scale ----
function makeChart(parent, g) {
  const {title, series, logable} = g;
  const box = document.createElement('div');
  box.className = 'zg-chart';
  const heading = document.createElement('h3');
  heading.textContent = title;
  parent.appendChild(heading);
  parent.appendChild(box);
  const canvas = document.createElement('canvas');
  box.appendChild(canvas);
  const positive = series.every(([, pts]) => pts.every(([, y]) => y > 0));
  const log = logable && view.log && positive;
  if (logable && view.log && !positive) heading.textContent += ' (linear: some values ≤ 0)';
  const datasets = [];
  series.forEach(([name, pts], i) => {
    const color = colors[i % colors.length];
    const drawSmoothed = !g.exact && view.smoothing > 0 && pts.length > 2;
    if (drawSmoothed)
      datasets.push({label: name + ' (raw)', data: pts.map(([x, y]) => ({x, y})),
                     borderColor: color + '44', borderWidth: 1, pointRadius: 0, raw: true});
    datasets.push({label: name,
                   data: drawSmoothed ? smooth(pts, view.smoothing) : pts.map(([x, y]) => ({x, y})),
                   borderColor: color, backgroundColor: color, borderWidth: 1.5,
                   stepped: g.stepped ? 'after' : false,
                   pointRadius: pts.length === 1 ? 3 : 0});
  });
  const chart = new Chart(canvas, {
    type: 'line',
    data: {datasets},
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      interaction: {mode: 'nearest', axis: 'x', intersect: false},
      scales: {
        x: {type: 'linear', title: {display: true, text: 'step'}, grid: {color: '#eee'},
            min: view.xmin ?? undefined, max: view.xmax ?? undefined},
        y: {type: log ? 'logarithmic' : 'linear', grid: {color: '#eee'}},
      },
      plugins: {
        legend: {labels: {filter: (item, data) => !data.datasets[item.datasetIndex].raw}},
        tooltip: {callbacks: {label: (c) => c.dataset.label + ': ' + fmt(c.parsed.y)}},
      },
    },
    plugins: [markerPlugin],
  });
  enableDragZoom(chart, box);
  charts.push(chart);
}

// ---- the sections ----
function section(id, title) {
  const s = document.getElementById(id);
  const h = document.createElement('h2');
  h.textContent = title;
  s.appendChild(h);
  return s;
}

function drawCharts() {
  const groups = new Map();
  for (const [key, pts] of Object.entries(run.series)) {
    if (key === 'kimg' || pts.length === 0) continue;
    const g = groupOf(key);
    if (!groups.has(g.id)) groups.set(g.id, Object.assign({series: []}, g));
    groups.get(g.id).series.push([key, pts]);
  }
  const training = section('zg-training', 'Training curves');
  const hint = document.createElement('p');
  hint.className = 'zg-hint';
  hint.textContent = 'Drag across a chart to zoom every chart to those steps; double-click to ' +
      'reset. Vertical lines: resumes (grey), health warnings (red), ProGAN phase changes (blue).';
  training.appendChild(hint);
  const sections = {schedule: null, quality: null};
  const order = ['loss', 'd', 'grad', 'lr', 'acc', 'res', 'alpha', 'fid', 'kid'];
  const rank = (g) => (order.includes(g.id) ? order.indexOf(g.id) : order.length);
  for (const g of [...groups.values()].sort((a, b) => rank(a) - rank(b))) {
    let parent = training;
    if (g.section === 'schedule')
      parent = sections.schedule ??= section('zg-schedule', 'Schedule (ProGAN)');
    if (g.section === 'quality')
      parent = sections.quality ??= section('zg-quality', 'Sample quality (--eval-every)');
    makeChart(parent, g);
  }
  if (groups.size === 0) training.appendChild(document.createTextNode('Nothing logged yet.'));
  if (run.phases.length) {
    const table = document.createElement('table');
    table.innerHTML = '<tr><th>from step</th><th>kimg</th><th>phase</th></tr>';
    for (const p of run.phases) {
      const row = table.insertRow();
      row.insertCell().textContent = p.step;
      row.insertCell().textContent = fmt(p.kimg);
      row.insertCell().textContent =
          p.resolution + '×' + p.resolution + (p.fading ? ' fading in' : ' stable');
    }
    (sections.schedule ??= section('zg-schedule', 'Schedule (ProGAN)')).appendChild(table);
  }
}

// A slider through a list of snapshots; `show(i)` draws snapshot i. The view remembers the
// chosen step, or that the newest was shown (then a reload shows the newest again).
function slider(parent, steps, viewField, show) {
  const label = document.createElement('span');
  const input = document.createElement('input');
  input.type = 'range';
  input.min = 0;
  input.max = steps.length - 1;
  const kept = steps.indexOf(view[viewField]);
  input.value = kept >= 0 ? kept : steps.length - 1;
  const update = () => {
    const i = Number(input.value);
    label.textContent = 'step ' + steps[i] + ' (' + (i + 1) + ' of ' + steps.length + ')';
    view[viewField] = i === steps.length - 1 ? null : steps[i];
    saveView();
    show(i);
  };
  input.addEventListener('input', update);
  const row = document.createElement('div');
  row.appendChild(input);
  row.appendChild(label);
  parent.appendChild(row);
  update();
}

function drawSamples() {
  const s = section('zg-samples', 'Samples (fixed z)');
  if (run.real) {
    const fig = document.createElement('figure');
    fig.innerHTML = '<img width="280" alt="real images"><figcaption>real images</figcaption>';
    fig.querySelector('img').src = run.real;
    s.appendChild(fig);
  }
  if (run.grids.length) {
    const fig = document.createElement('figure');
    const img = document.createElement('img');
    img.width = 280;
    img.alt = 'samples';
    fig.appendChild(img);
    s.appendChild(fig);
    slider(fig, run.grids.map((g) => g.step), 'grid', (i) => {
      img.src = run.grids[i].src;
    });
  }
  if (run.points.length) {
    const box = document.createElement('div');
    box.className = 'zg-scatter';
    const canvas = document.createElement('canvas');
    box.appendChild(canvas);
    s.appendChild(box);
    const samples = {label: 'samples', data: [], pointRadius: 2, backgroundColor: '#1f77b4aa'};
    const modes = {label: 'modes of the data', data: run.modes.map(([x, y]) => ({x, y})),
                   pointStyle: 'crossRot', pointRadius: 7, borderColor: '#d62728', borderWidth: 2};
    // One square range for every step (the modes' and all the samples'), so the slider moves
    // the points, not the axes.
    // Samples far off (a diverged G) widen it up to three times the modes' reach at most.
    const reachOf = (pts) => pts.reduce((r, [x, y]) => Math.max(r, Math.abs(x), Math.abs(y)), 0);
    const modeReach = reachOf(run.modes);
    let reach = Math.max(modeReach, reachOf([].concat(...run.points.map((p) => p.xy))), 1e-6);
    if (modeReach > 0) reach = Math.min(reach, 3 * modeReach);
    const axis = {min: -reach * 1.1, max: reach * 1.1, grid: {color: '#eee'}};
    const chart = new Chart(canvas, {
      type: 'scatter',
      data: {datasets: [modes, samples]},
      options: {animation: false, maintainAspectRatio: false, scales: {x: axis, y: axis}},
    });
    charts.push(chart);
    slider(s, run.points.map((p) => p.step), 'points', (i) => {
      samples.data = run.points[i].xy.map(([x, y]) => ({x, y}));
      chart.update('none');
    });
  }
  if (!run.real && !run.grids.length && !run.points.length)
    s.appendChild(document.createTextNode('No samples yet.'));
}

function drawTables() {
  if (run.warnings.length) {
    const s = section('zg-warnings', 'Health warnings');
    const table = document.createElement('table');
    table.className = 'zg-warn';
    for (const w of run.warnings) {
      const row = table.insertRow();
      row.insertCell().textContent = 'step ' + w.step;
      row.insertCell().textContent = w.warning;
      row.insertCell().textContent = w.message;
    }
    s.appendChild(table);
  }
  const last = section('zg-last', 'Last logged metrics');
  const table = document.createElement('table');
  for (const [k, v] of Object.entries(run.last)) {
    const row = table.insertRow();
    row.insertCell().textContent = k;
    row.insertCell().textContent = fmt(v);
  }
  last.appendChild(table);
  const config = section('zg-config', 'Config');
  const pre = document.createElement('pre');
  pre.textContent = JSON.stringify(run.config, null, 2);
  config.appendChild(pre);
}

// ---- the controls: smoothing and log scale redraw every chart ----
function drawControls() {
  const c = document.getElementById('zg-controls');
  c.innerHTML = '<label>smoothing <input id="zg-smoothing" type="range" min="0" max="0.99" ' +
      'step="0.01"> <span></span></label> <label><input id="zg-log" type="checkbox"> log scale ' +
      '(losses, gradient norms, learning rates)</label> <button id="zg-reset">reset zoom</button>';
  const sm = document.getElementById('zg-smoothing');
  sm.value = view.smoothing;
  sm.nextElementSibling.textContent = view.smoothing;
  sm.addEventListener('change', () => {
    view.smoothing = Number(sm.value);
    saveView();
    location.reload();
  });
  const log = document.getElementById('zg-log');
  log.checked = view.log;
  log.addEventListener('change', () => {
    view.log = log.checked;
    saveView();
    location.reload();
  });
  document.getElementById('zg-reset').addEventListener('click', () => setZoom(null, null));
}

// ---- while the run is alive, reload every few seconds; a run whose report has not changed
// for ten minutes (killed, or its machine gone) is taken as stopped ----
function scheduleRefresh() {
  const age = Date.now() / 1000 - run.written_at;
  const state = document.getElementById('zg-state');
  if (!run.live) {
    state.textContent = 'finished';
    return;
  }
  if (age > 600) {
    state.textContent = 'not updated for ' + Math.round(age / 60) + ' minutes: auto-refresh off';
    return;
  }
  state.textContent = 'training (this page reloads every 5 s)';
  setTimeout(() => location.reload(), 5000);
}

try {
  drawControls();
  drawTables();
  drawCharts();
  drawSamples();
  scheduleRefresh();
} catch (e) {
  noteError(e && e.stack ? e.stack : e);
}
status.dataset.charts = charts.length;
status.dataset.drawn = charts.filter(zgPainted).length;
status.dataset.done = 'yes';
})();

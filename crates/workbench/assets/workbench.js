// rewardgen workbench: plots, Rhai highlighting, the video-synchronized cursor, live refresh.
"use strict";

const COLORS = ["#0b63ce", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#0a7d8c", "#6e7781", "#bf3989"];
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function data(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function fmt(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-2)) return v.toExponential(1);
  return (Math.round(v * 1000) / 1000).toString();
}

// A chart of series [{name, points: [[x, y], ...], dots}] into `parent`; returns a function
// that moves a vertical cursor to x.
function chart(parent, title, series, opts) {
  opts = opts || {};
  // The legend sits in a column right of the data area, never over the data.
  const legend = series.filter(s => s.name);
  const LW = legend.length > 1 ? 140 : 0;
  const W = (opts.width || 460) + LW, H = opts.height || 240, L = 52, R = 24 + LW, T = 22, B = 34;
  const svg = el("svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}` }, parent);
  el("text", { x: L, y: 14, "font-weight": "600" }, svg).textContent = title;
  const pts = series.flatMap(s => s.points);
  if (pts.length === 0) {
    el("text", { x: L, y: H / 2 }, svg).textContent = "no data yet";
    return () => {};
  }
  let [x0, x1] = [Math.min(...pts.map(p => p[0])), Math.max(...pts.map(p => p[0]))];
  let [y0, y1] = [Math.min(...pts.map(p => p[1])), Math.max(...pts.map(p => p[1]))];
  if (opts.x0 !== undefined) x0 = opts.x0;
  if (opts.integerX) { x0 -= 0.25; x1 += 0.25; }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const sx = x => L + (x - x0) / (x1 - x0) * (W - L - R);
  const sy = y => H - B - (y - y0) / (y1 - y0) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const y = y0 + (y1 - y0) * i / 4;
    el("line", { class: "grid", x1: L, x2: W - R, y1: sy(y), y2: sy(y) }, svg);
    el("text", { x: L - 4, y: sy(y) + 4, "text-anchor": "end" }, svg).textContent = fmt(y);
    if (!opts.integerX) {
      const x = x0 + (x1 - x0) * i / 4;
      el("text", { x: sx(x), y: H - B + 14, "text-anchor": "middle" }, svg).textContent = fmt(x);
    }
  }
  if (opts.integerX) {
    const every = Math.max(1, Math.ceil((x1 - x0) / 10));
    for (let x = Math.ceil(x0); x <= x1; x += every)
      el("text", { x: sx(x), y: H - B + 14, "text-anchor": "middle" }, svg).textContent = x;
  }
  el("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }, svg);
  el("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }, svg);
  if (opts.xlabel) el("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, svg).textContent = opts.xlabel;
  series.forEach((s, i) => {
    const color = COLORS[(s.color === undefined ? i : s.color) % COLORS.length];
    if (s.dots) {
      for (const p of s.points) el("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 3, fill: color, "fill-opacity": 0.6 }, svg);
    } else {
      el("polyline", { fill: "none", stroke: color, "stroke-width": s.faint ? 1 : 1.5, "stroke-opacity": s.faint ? 0.35 : 1,
        points: s.points.map(p => `${sx(p[0])},${sy(p[1])}`).join(" ") }, svg);
    }
  });
  if (LW) legend.forEach((s, i) => {
    const color = COLORS[(s.color === undefined ? series.indexOf(s) : s.color) % COLORS.length];
    const lx = W - LW + 4, ly = T + 8 + 15 * i;
    if (s.dots) el("circle", { cx: lx + 5, cy: ly - 4, r: 3, fill: color, "fill-opacity": 0.6 }, svg);
    else el("rect", { x: lx, y: ly - 5, width: 12, height: s.faint ? 1 : 3, fill: color, "fill-opacity": s.faint ? 0.35 : 1 }, svg);
    el("text", { x: lx + 16, y: ly }, svg).textContent = s.name;
  });
  const cursor = el("line", { class: "cursor", x1: sx(x0), x2: sx(x0), y1: T, y2: H - B, visibility: "hidden" }, svg);
  return x => {
    cursor.setAttribute("x1", sx(x));
    cursor.setAttribute("x2", sx(x));
    cursor.setAttribute("visibility", "visible");
    svg.dataset.cursor = x;
  };
}

function fitnessPlot() {
  const node = document.getElementById("fitness-plot");
  const d = data("fitness-data");
  if (!node || !d) return;
  chart(node, "fitness by generation", [
    { name: "candidates", points: d.points.map(p => [p[0], p[1]]), dots: true },
    { name: "elite", points: d.elite },
  ], { xlabel: "generation", width: 640, integerX: true });
}

function finalPlot() {
  const node = document.getElementById("final-plot");
  const finals = data("final-data");
  if (!node || !finals) return;
  const rows = finals.filter(f => f.measure);
  if (rows.length === 0) return;
  const W = 460, H = 200, L = 70, barH = 28;
  const lo = Math.min(0, ...rows.map(f => f.measure.mean - f.measure.half_width));
  const hi = Math.max(...rows.map(f => f.measure.mean + f.measure.half_width), lo + 1e-9);
  const sx = x => L + (x - lo) / (hi - lo) * (W - L - 20);
  const svg = el("svg", { class: "chart", width: W, height: H }, node);
  rows.forEach((f, i) => {
    const y = 20 + i * (barH + 14);
    el("text", { x: L - 6, y: y + barH / 2 + 4, "text-anchor": "end" }, svg).textContent = f.label;
    el("rect", { x: sx(Math.min(0, f.measure.mean)), y, width: Math.abs(sx(f.measure.mean) - sx(0)), height: barH, fill: COLORS[i] }, svg);
    const [a, b] = [f.measure.mean - f.measure.half_width, f.measure.mean + f.measure.half_width];
    el("line", { x1: sx(a), x2: sx(b), y1: y + barH / 2, y2: y + barH / 2, stroke: "#000" }, svg);
    el("text", { x: sx(b) + 4, y: y + barH / 2 + 4 }, svg).textContent = `${fmt(f.measure.mean)} ± ${fmt(f.measure.half_width)}`;
  });
}

function learningCurves() {
  const node = document.getElementById("learning-curves");
  const curves = data("curves-data");
  if (!node || !curves) return;
  // The same smoothing as curves.png: a centred moving average over a tenth of the updates
  // (1 to 20), stated on the axis.
  const n = Math.max(0, ...Object.values(curves).map(p => p.length));
  const K = Math.min(20, Math.max(1, Math.floor(n / 10)));
  const smooth = pts => pts.map((p, i) => {
    const w = pts.slice(Math.max(0, i - Math.floor((K - 1) / 2)), i + Math.floor(K / 2) + 1);
    return [p[0], w.reduce((a, q) => a + q[1], 0) / w.length];
  });
  const xlabel = K > 1 ? `env steps (moving average over ${K} updates)` : "env steps (unsmoothed)";
  const single = (key, name) => {
    const pts = curves[key] || [];
    if (K === 1) return [{ name, points: pts }];
    return [{ name: "per update", points: pts, faint: true, color: 0 },
            { name: `mean of ${K} updates`, points: smooth(pts), color: 0 }];
  };
  const pick = prefix => Object.entries(curves).filter(([k]) => k.startsWith(prefix))
    .map(([k, points]) => ({ name: k.replace(prefix, ""), points: smooth(points) }));
  chart(node, "episodic return", single("charts/episodic_return", "return"), { xlabel });
  chart(node, "success rate", single("charts/success_rate", "success"), { xlabel });
  chart(node, "reward components (mean per step)", pick("reward/"), { xlabel });
}

// The reward components of the recorded episode, with a cursor that follows the video.
function rolloutPlot() {
  const node = document.getElementById("component-plot");
  const r = data("rollout-data");
  if (!node || !r) return;
  const series = [{ name: "reward", points: r.reward.map((y, i) => [i, y]) }];
  for (const [name, ys] of Object.entries(r.components)) series.push({ name, points: ys.map((y, i) => [i, y]) });
  const move = chart(node, "reward components per step", series, { xlabel: "step", x0: 0 });
  move(0);
  const video = document.getElementById("rollout-video");
  if (!video || video.tagName !== "VIDEO") return;
  const last = r.reward.length - 1;
  const follow = () => {
    move(Math.min(last, Math.floor(video.currentTime / r.step_seconds)));
    if (!video.paused) requestAnimationFrame(follow);
  };
  video.addEventListener("play", follow);
  video.addEventListener("seeked", follow);
  video.addEventListener("timeupdate", follow);
}

const RHAI_KEYWORDS = new Set(["let", "const", "if", "else", "fn", "return", "true", "false", "while",
  "for", "in", "loop", "break", "continue", "switch", "throw", "try", "catch"]);

function highlightRhai(code) {
  const escape = s => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const token = /(\/\/[^\n]*)|("(?:[^"\\\n]|\\.)*")|(\b\d+(?:\.\d*)?(?:[eE][+-]?\d+)?\b)|([A-Za-z_]\w*)(\s*\()?/g;
  let out = "", at = 0, m;
  while ((m = token.exec(code)) !== null) {
    out += escape(code.slice(at, m.index));
    if (m[1]) out += `<span class="com">${escape(m[1])}</span>`;
    else if (m[2]) out += `<span class="str">${escape(m[2])}</span>`;
    else if (m[3]) out += `<span class="num">${m[3]}</span>`;
    else if (RHAI_KEYWORDS.has(m[4])) out += `<span class="kw">${m[4]}</span>${m[5] || ""}`;
    else if (m[5]) out += `<span class="fn">${m[4]}</span>${m[5]}`;
    else out += m[4];
    at = token.lastIndex;
  }
  return out + escape(code.slice(at));
}

function highlight() {
  for (const pre of document.querySelectorAll("pre.rhai")) pre.innerHTML = highlightRhai(pre.textContent);
  for (const line of document.querySelectorAll("pre.diff span")) {
    const text = line.textContent;
    line.innerHTML = escapeTag(text.slice(0, 2)) + highlightRhai(text.slice(2));
    line.parentNode.classList.add("rhai");
  }
}

function escapeTag(s) { return s.replace(/&/g, "&amp;").replace(/</g, "&lt;"); }

// A live page reloads when the run store changes.
function liveRefresh() {
  if (document.body.dataset.live !== "1") return;
  setInterval(async () => {
    try {
      const now = await (await fetch("/api/version", { cache: "no-store" })).text();
      if (now !== document.body.dataset.version) location.reload();
    } catch (_) { /* the server is restarting; try again */ }
  }, 2000);
}

fitnessPlot();
finalPlot();
learningCurves();
rolloutPlot();
highlight();
liveRefresh();

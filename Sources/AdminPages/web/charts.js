// Charts over time for the admin pages: plain inline SVG drawn here (no library, nothing
// fetched), data always as text or attributes. A chart is one value per step of a series from
// /traces/stats/timeseries (or a metric's series): bars (stacked when several) or lines, a
// y axis from zero, times on the x axis, a readout of the step under the pointer, and a
// dragged (or clicked) range handed to the page, which makes it its time range.
"use strict";

const SightlineCharts = (() => {
  const { el, clear, duration, number } = Sightline;
  const SVG = "http://www.w3.org/2000/svg";
  const HEIGHT = 170;
  const MARGIN = { top: 10, right: 10, bottom: 22, left: 52 };

  function svg(tag, attributes, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  // 1, 2 or 5 times a power of ten, at least `value` (the y axis's top).
  function niceCeiling(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const factor of [1, 2, 5, 10]) if (factor * power >= value * (1 - 1e-9)) return factor * power;
    return 10 * power;
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  // A step's time for the axis and the readout: the clock, with the day when the chart spans days.
  function clock(ms, withDay) {
    const date = new Date(ms);
    const time = pad(date.getHours()) + ":" + pad(date.getMinutes());
    return withDay ? date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " + time : time;
  }

  // Unix milliseconds of the API's timestamps (ISO 8601 with microseconds).
  function parseTime(text) {
    return Date.parse(String(text).replace(/(\.\d{3})\d*Z$/, "$1Z"));
  }

  function stepName(seconds) {
    if (seconds % 86400 === 0) return seconds === 86400 ? "day" : seconds / 86400 + " days";
    if (seconds % 3600 === 0) return seconds === 3600 ? "hour" : seconds / 3600 + " h";
    return seconds === 60 ? "minute" : seconds / 60 + " min";
  }

  // chart({id, title, times: [ms], stepMs, series: [{key, name, values, style: "c0"}], kind:
  // "bars"|"lines", format(value), label(ms, withDay), onRange(fromMs, toMs)}): a <figure> that
  // draws itself at its width and again when that changes.
  function chart(spec) {
    const readout = el("p", { class: "chart-readout", "aria-live": "off" }, "");
    const legend = el("ul", { class: "chart-legend" }, spec.series.map((s) =>
      el("li", {}, el("span", { class: "swatch " + s.style }), s.name)));
    const plot = el("div", { class: "chart-plot" });
    const figure = el("figure", { class: "chart", "data-chart": spec.id, "data-steps": spec.times.length, "data-start": spec.times[0] },
      el("figcaption", {}, el("span", { class: "chart-title" }, spec.title), legend), plot, readout);
    let width = 0;
    const draw = () => {
      const now = plot.clientWidth;
      if (now === width || now === 0) return;
      width = now;
      clear(plot).append(drawing(spec, width, readout));
    };
    if (typeof ResizeObserver === "function") new ResizeObserver(draw).observe(plot);
    requestAnimationFrame(draw);
    figure.redraw = () => {
      width = 0;
      draw();
    };
    return figure;
  }

  function drawing(spec, width, readout) {
    const count = spec.times.length;
    const plotWidth = Math.max(10, width - MARGIN.left - MARGIN.right);
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    const band = plotWidth / Math.max(1, count);
    const stacked = spec.kind === "bars";
    const totals = spec.times.map((_, i) => spec.series.reduce((sum, s) => sum + (Number(s.values[i]) || 0), 0));
    const highest = stacked ? Math.max(0, ...totals) : Math.max(0, ...spec.series.flatMap((s) => s.values.filter((v) => v !== null).map(Number)));
    const top = niceCeiling(highest);
    const y = (value) => MARGIN.top + plotHeight - (value / top) * plotHeight;
    const x = (index) => MARGIN.left + index * band;
    const spansDays = count > 1 && spec.times[count - 1] - spec.times[0] >= 86400000;
    const format = spec.format || ((v) => number(v));
    const label = spec.label || clock;

    const root = svg("svg", { width, height: HEIGHT, viewBox: "0 0 " + width + " " + HEIGHT, role: "img",
      "aria-label": spec.title + ", " + count + " steps", class: "chart-svg" });
    // Grid and y labels: 0, half, top.
    for (const fraction of [0, 0.5, 1]) {
      const value = top * fraction;
      root.append(svg("line", { class: "grid", x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y(value), y2: y(value) }),
        svg("text", { class: "axis-label", x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end" }, format(value)));
    }
    // x labels: about one per 110 px, on steps.
    const every = Math.max(1, Math.ceil(count / Math.max(1, Math.floor(plotWidth / 110))));
    for (let i = 0; i < count; i += every) {
      root.append(svg("text", { class: "axis-label", x: x(i) + band / 2, y: HEIGHT - 6, "text-anchor": i === 0 ? "start" : "middle" },
        label(spec.times[i], spansDays && i === 0)));
    }

    const marks = svg("g", { class: "marks" });
    if (stacked) {
      const base = new Array(count).fill(0);
      for (const s of spec.series) {
        const group = svg("g", { class: "series " + s.style, "data-series": s.key });
        s.values.forEach((raw, i) => {
          const value = Number(raw) || 0;
          const bottom = base[i];
          base[i] += value;
          group.append(svg("rect", {
            class: "point", "data-index": i, "data-value": raw, x: x(i) + (band > 3 ? 0.5 : 0), width: Math.max(0.5, band - (band > 3 ? 1 : 0)),
            y: y(bottom + value), height: Math.max(0, y(bottom) - y(bottom + value)),
          }));
        });
        marks.append(group);
      }
    } else {
      for (const s of spec.series) {
        const group = svg("g", { class: "series " + s.style, "data-series": s.key });
        let run = [];
        const flush = () => {
          if (run.length > 1) group.prepend(svg("polyline", { class: "line", points: run.join(" ") }));
          run = [];
        };
        s.values.forEach((raw, i) => {
          if (raw === null || raw === undefined) return flush();
          const cx = x(i) + band / 2, cy = y(Number(raw));
          run.push(cx.toFixed(1) + "," + cy.toFixed(1));
          group.append(svg("circle", { class: "point", "data-index": i, "data-value": raw, cx: cx.toFixed(1), cy: cy.toFixed(1), r: band > 6 ? 2.2 : 1.4 }));
        });
        flush();
        marks.append(group);
      }
    }
    root.append(marks);

    // The pointer: a guide on the step under it, a readout of its values, a dragged range.
    const guide = svg("rect", { class: "guide", x: 0, y: MARGIN.top, width: Math.max(1, band), height: plotHeight, visibility: "hidden" });
    const selection = svg("rect", { class: "selection", x: 0, y: MARGIN.top, width: 0, height: plotHeight, visibility: "hidden" });
    const surface = svg("rect", { class: "surface", x: MARGIN.left, y: MARGIN.top, width: plotWidth, height: plotHeight });
    root.append(guide, selection, surface);
    const indexAt = (event) => {
      const box = root.getBoundingClientRect();
      return Math.min(count - 1, Math.max(0, Math.floor((event.clientX - box.left - MARGIN.left) / band)));
    };
    const describe = (i) => {
      const parts = spec.series.map((s) => s.name + " " + (s.values[i] === null || s.values[i] === undefined ? "–" : format(Number(s.values[i]))));
      return label(spec.times[i], spansDays) + " · " + parts.join(" · ");
    };
    let dragFrom = null;
    surface.addEventListener("pointermove", (event) => {
      const i = indexAt(event);
      guide.setAttribute("x", x(i));
      guide.setAttribute("visibility", "visible");
      readout.textContent = describe(i);
      if (dragFrom !== null) {
        const [a, b] = [Math.min(dragFrom, i), Math.max(dragFrom, i)];
        selection.setAttribute("x", x(a));
        selection.setAttribute("width", (b - a + 1) * band);
        selection.setAttribute("visibility", "visible");
      }
    });
    surface.addEventListener("pointerleave", () => guide.setAttribute("visibility", "hidden"));
    if (spec.onRange) {
      root.classList.add("zoomable");
      surface.addEventListener("pointerdown", (event) => {
        dragFrom = indexAt(event);
        surface.setPointerCapture(event.pointerId);
      });
      surface.addEventListener("pointerup", (event) => {
        if (dragFrom === null) return;
        const i = indexAt(event);
        const [a, b] = [Math.min(dragFrom, i), Math.max(dragFrom, i)];
        dragFrom = null;
        selection.setAttribute("visibility", "hidden");
        spec.onRange(spec.times[a], spec.times[b] + spec.stepMs);
      });
    }
    return root;
  }

  // The charts of one /traces/stats/timeseries answer: requests (and failed ones), error rate,
  // latency percentiles, log records by level.
  const LEVELS = [["DEBUG", "c9"], ["INFO", "c0"], ["WARNING", "c2"], ["ERROR", "c4"], ["CRITICAL", "c3"]];

  function traceCharts(series, onRange) {
    const times = series.points.map((p) => parseTime(p.time));
    const stepMs = series.step_seconds * 1000;
    const per = stepName(series.step_seconds);
    const points = series.points;
    const levels = LEVELS.map(([level]) => level);
    const other = [...new Set(series.logs.flatMap((step) => Object.keys(step.levels)))].filter((level) => !levels.includes(level)).sort();
    return [
      chart({ id: "requests", title: "Requests per " + per, times, stepMs, kind: "bars", onRange,
        series: [
          { key: "ok", name: "OK", style: "c1", values: points.map((p) => p.requests - p.errors) },
          { key: "errors", name: "Errors", style: "c4", values: points.map((p) => p.errors) },
        ] }),
      chart({ id: "error-rate", title: "Error rate (%)", times, stepMs, kind: "lines", onRange, format: (v) => number(v, 1) + " %",
        series: [{ key: "error_rate", name: "Error rate", style: "c4", values: points.map((p) => p.error_rate) }] }),
      chart({ id: "latency", title: "Latency", times, stepMs, kind: "lines", onRange, format: duration,
        series: [
          { key: "p50_ms", name: "p50", style: "c0", values: points.map((p) => p.p50_ms) },
          { key: "p95_ms", name: "p95", style: "c2", values: points.map((p) => p.p95_ms) },
          { key: "p99_ms", name: "p99", style: "c4", values: points.map((p) => p.p99_ms) },
        ] }),
      chart({ id: "logs", title: "Log records per " + per + " by level", times, stepMs, kind: "bars", onRange,
        series: [...LEVELS, ...other.map((level) => [level, "c7"])].map(([level, style]) => (
          { key: level, name: level, style, values: series.logs.map((step) => step.levels[level] || 0) })) }),
    ];
  }

  return { chart, traceCharts, niceCeiling, stepName, clock, parseTime };
})();

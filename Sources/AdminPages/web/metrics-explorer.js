// /metrics-explorer: the OTLP metrics with a point in the window (/metrics), and the chosen one's
// series over it (/metrics/{name}/series), one line each, narrowed by service and by the
// attributes its series carry. The choice is in the address: ?metric=&hours=&service=&value=&attr.<key>=.
"use strict";

(() => {
  const { el, clear, api, query, number, readFilters, formValues, writeAddress, showStatus, labelColumns } = Sightline;
  const STYLES = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"];
  const SHOWN_SERIES = 10;
  let form, metrics = [], chosen = null;
  // The chosen metric's attribute keys and values (from its unfiltered series), for the menus.
  let known = { metric: null, hours: null, services: [], attributes: {} };
  let request = 0;

  function state() {
    const search = new URLSearchParams(location.search);
    const attributes = {};
    for (const [name, value] of search) if (name.startsWith("attr.") && value) attributes[name.slice(5)] = value;
    return { metric: search.get("metric") || "", service: search.get("service") || "", value: search.get("value") || "", attributes };
  }

  function hours() {
    return formValues(form).hours || "24";
  }

  function go(next, push = true) {
    const attributes = Object.fromEntries(Object.entries(next.attributes || {}).map(([k, v]) => ["attr." + k, v]));
    writeAddress({ metric: next.metric, hours: hours() === "24" ? "" : hours(), service: next.service, value: next.value, ...attributes }, push);
    renderList();
    loadSeries();
  }

  // --- the list ---------------------------------------------------------------------------------
  async function loadList() {
    const status = document.getElementById("metrics-status");
    try {
      metrics = (await api("/metrics" + query({ hours: hours() }))).metrics || [];
      showStatus(status, metrics.length === 0 ? "No metrics received in this time range (OTLP metrics arrive on POST /v1/metrics)." : "");
    } catch (error) {
      metrics = [];
      showStatus(status, "Could not load metrics: " + error.message, true);
    }
    renderList();
  }

  function renderList() {
    const find = (formValues(form).find || "").toLowerCase();
    const current = state().metric;
    const list = clear(document.getElementById("metric-list"));
    for (const metric of metrics.filter((m) => m.name.toLowerCase().includes(find))) {
      list.append(el("li", {}, el("button", {
        type: "button", "data-metric": metric.name, "aria-pressed": metric.name === current ? "true" : "false",
        onclick: () => go({ metric: metric.name }),
      }, metric.name, el("span", { class: "metric-type" },
        metric.type + (metric.unit ? " · " + metric.unit : "") + " · " + metric.series_count + (metric.series_count === 1 ? " series" : " series")))));
    }
  }

  // --- the chosen metric ------------------------------------------------------------------------
  function valueKinds(type) {
    return type === "histogram" || type === "exponential_histogram" || type === "summary" ? ["count", "sum"] : ["avg", "min", "max"];
  }

  function attributesOf(series) {
    const attributes = series.attributes && typeof series.attributes === "object" ? series.attributes : {};
    return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]));
  }

  async function loadSeries() {
    const mine = ++request;
    const { metric, service, value, attributes } = state();
    chosen = metrics.find((m) => m.name === metric) || null;
    const heading = document.getElementById("metric-heading");
    const status = document.getElementById("series-status");
    const chart = clear(document.getElementById("metric-chart"));
    const table = document.getElementById("series-table");
    if (!metric) {
      heading.textContent = "Choose a metric";
      document.getElementById("metric-description").textContent = metrics.length ? "Pick one from the list to chart it." : "";
      clear(document.getElementById("attribute-filters"));
      table.hidden = true;
      return;
    }
    heading.textContent = metric;
    document.getElementById("metric-description").textContent = chosen
      ? [chosen.type, chosen.unit, chosen.description].filter(Boolean).join(" · ") : "";
    showStatus(status, "Loading series…");
    const base = "/metrics/" + encodeURIComponent(metric) + "/series";
    const filters = Object.fromEntries(Object.entries(attributes).map(([k, v]) => ["attr." + k, v]));
    let answer;
    try {
      if (known.metric !== metric || known.hours !== hours()) {
        const all = await api(base + query({ hours: hours() }));
        known = { metric, hours: hours(), services: [...new Set(all.series.map((s) => s.service).filter(Boolean))].sort(), attributes: {} };
        for (const s of all.series) {
          for (const [k, v] of Object.entries(attributesOf(s))) (known.attributes[k] ||= new Set()).add(v);
        }
        if (!service && Object.keys(filters).length === 0) answer = all;
      }
      answer ||= await api(base + query({ hours: hours(), service, ...filters }));
    } catch (error) {
      if (mine === request) showStatus(status, "Could not load the series: " + error.message, true);
      return;
    }
    if (mine !== request) return;
    renderFilters({ metric, service, value, attributes });
    const kinds = valueKinds(chosen ? chosen.type : "");
    const kind = kinds.includes(value) ? value : kinds[0];
    const series = answer.series || [];
    showStatus(status, series.length === 0 ? "No series match." : answer.truncated ? "Too many points: the oldest series are shown." : "");

    // A shared axis: the window's steps (aligned to multiples of the step, as the API's).
    const stepMs = answer.step_seconds * 1000;
    const count = Math.ceil(Number(answer.period_hours) * 3600 / answer.step_seconds);
    const last = Math.floor(Date.now() / stepMs) * stepMs;
    const times = Array.from({ length: count }, (_, i) => last - (count - 1 - i) * stepMs);
    const shown = series.slice(0, SHOWN_SERIES).map((s, i) => {
      const values = times.map(() => null);
      for (const point of s.points) {
        const index = Math.round((SightlineCharts.parseTime(point.time) - times[0]) / stepMs);
        if (index >= 0 && index < count && point[kind] !== undefined) values[index] = point[kind];
      }
      const label = Object.entries(attributesOf(s)).map(([k, v]) => k + "=" + v).join(", ") || s.service || "series";
      return { key: s.series_id, name: label, style: STYLES[i % STYLES.length], values };
    });
    if (shown.length) {
      chart.append(SightlineCharts.chart({ id: "metric", title: metric + " (" + kind + " per " + SightlineCharts.stepName(answer.step_seconds) + ")",
        times, stepMs, kind: "lines", series: shown, format: (v) => number(v) }));
    }
    const body = clear(table.tBodies[0]);
    for (const s of series) {
      const latest = s.points.length ? s.points[s.points.length - 1][kind] : null;
      body.append(el("tr", { "data-series-id": s.series_id },
        el("td", {}, s.service || "–"),
        el("td", { class: "wrap mono" }, Object.entries(attributesOf(s)).map(([k, v]) => k + "=" + v).join(", ") || "–"),
        el("td", { class: "num" }, latest === null || latest === undefined ? "–" : number(latest)),
        el("td", { class: "num" }, String(s.points.reduce((sum, p) => sum + (p.samples || 0), 0)))));
    }
    table.hidden = series.length === 0;
    labelColumns(table);
  }

  // Menus for the service, the value shown and each attribute key, from the metric's series.
  function renderFilters(current) {
    const box = clear(document.getElementById("attribute-filters"));
    const menu = (label, name, options, selected, onchange) => {
      const select = el("select", { name, onchange: (event) => onchange(event.target.value) },
        options.map(([value, text]) => el("option", { value, selected: value === selected }, text)));
      return el("label", {}, label, select);
    };
    const kinds = valueKinds(chosen ? chosen.type : "");
    box.append(menu("Value", "value", kinds.map((k) => [k, k]), kinds.includes(current.value) ? current.value : kinds[0],
      (value) => go({ ...current, value })));
    if (known.services.length > 1 || current.service) {
      box.append(menu("Service", "service", [["", "Any"], ...known.services.map((s) => [s, s])], current.service,
        (service) => go({ ...current, service })));
    }
    for (const key of Object.keys(known.attributes).sort()) {
      const values = [...known.attributes[key]].sort();
      box.append(menu(key, "attr." + key, [["", "Any"], ...values.map((v) => [v, v])], current.attributes[key] || "", (value) => {
        const attributes = { ...current.attributes };
        if (value) attributes[key] = value;
        else delete attributes[key];
        go({ ...current, attributes });
      }));
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    form = document.getElementById("metric-filters");
    readFilters(form);
    form.addEventListener("submit", (event) => event.preventDefault());
    form.elements.find.addEventListener("input", renderList);
    form.elements.hours.addEventListener("change", async () => {
      await loadList();
      go(state());
    });
    window.addEventListener("popstate", async () => {
      readFilters(form);
      await loadList();
      loadSeries();
    });
    await loadList();
    loadSeries();
  });
})();

// /llm: LLM calls' tokens and cost (GenAI spans, `llm_call_metrics`) per model and per day,
// from /llm/usage; a stacked chart of the daily cost by model.
"use strict";

(() => {
  const { el, clear, api, query, number, readFilters, formValues, writeAddress, showStatus, labelColumns } = Sightline;
  const STYLES = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"];
  let form;

  // Cents for large sums; four decimals below 100 USD, where single calls cost fractions of a cent.
  const dollars = (value) => "$" + Number(value).toFixed(Math.abs(Number(value)) >= 100 ? 2 : 4);
  const count = (value) => Number(value).toLocaleString("en-US");

  function render(usage) {
    document.getElementById("llm-total-cost").textContent = dollars(usage.total_cost_usd);
    const calls = usage.models.reduce((sum, m) => sum + m.calls, 0);
    const tokens = usage.models.reduce((sum, m) => sum + m.total_tokens, 0);
    clear(document.getElementById("llm-figures")).append(
      el("dt", {}, "Calls"), el("dd", { class: "num" }, count(calls)),
      el("dt", {}, "Tokens"), el("dd", { class: "num" }, count(tokens)),
      el("dt", {}, "Models"), el("dd", { class: "num" }, String(usage.models.length)));

    const models = clear(document.querySelector("#model-table tbody"));
    for (const m of usage.models) {
      models.append(el("tr", { "data-model": m.model },
        el("td", {}, m.provider), el("td", { class: "wrap" }, m.model), el("td", { class: "num" }, count(m.calls)),
        el("td", { class: "num" }, count(m.failed)), el("td", { class: "num" }, count(m.prompt_tokens)),
        el("td", { class: "num" }, count(m.completion_tokens)), el("td", { class: "num" }, count(m.total_tokens)),
        el("td", { class: "num cost" }, dollars(m.cost_usd))));
    }
    if (usage.models.length === 0) models.append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No LLM calls in these days.")));
    labelColumns(document.getElementById("model-table"));

    const daily = clear(document.querySelector("#daily-table tbody"));
    for (const d of [...usage.daily].reverse()) {
      daily.append(el("tr", {}, el("td", { class: "nowrap" }, d.day), el("td", { class: "wrap" }, d.provider + " / " + d.model),
        el("td", { class: "num" }, count(d.calls)), el("td", { class: "num" }, count(d.total_tokens)), el("td", { class: "num" }, dollars(d.cost_usd))));
    }
    labelColumns(document.getElementById("daily-table"));

    // One bar per UTC day, stacked by model (the most expensive first, at the bottom).
    const start = SightlineCharts.parseTime(usage.start), dayMs = 86400000;
    const times = Array.from({ length: usage.days }, (_, i) => start + i * dayMs);
    const series = usage.models.map((m, i) => {
      const values = times.map(() => 0);
      for (const d of usage.daily) {
        if (d.provider === m.provider && d.model === m.model) values[Math.round((Date.parse(d.day + "T00:00:00Z") - start) / dayMs)] = d.cost_usd;
      }
      return { key: m.provider + "/" + m.model, name: m.model, style: STYLES[i % STYLES.length], values };
    });
    const chart = SightlineCharts.chart({ id: "llm-cost", title: "Cost per day (USD)", times, stepMs: dayMs, kind: "bars",
      format: (v) => dollars(v), label: (ms) => new Date(ms).toISOString().slice(0, 10),
      series: series.length ? series : [{ key: "none", name: "No calls", style: "c0", values: times.map(() => 0) }] });
    clear(document.getElementById("llm-charts")).append(chart);
  }

  async function load() {
    const status = document.getElementById("llm-status");
    showStatus(status, "Loading…");
    try {
      render(await api("/llm/usage" + query({ days: formValues(form).days })));
      showStatus(status, "");
    } catch (error) {
      showStatus(status, "Could not load LLM usage: " + error.message, true);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    form = document.getElementById("llm-filters");
    readFilters(form);
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("change", () => {
      const days = formValues(form).days;
      writeAddress({ days: days === "7" ? "" : days }, true);
      load();
    });
    window.addEventListener("popstate", () => {
      readFilters(form);
      load();
    });
    load();
  });
})();

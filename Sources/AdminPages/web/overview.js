// /: a summary of the chosen window (24 hours unless the address says otherwise), each card
// linking to its page, charts of requests, error rate, latency and log records over the
// window (for all services or one), and the oldest data kept.
"use strict";

(() => {
  const { el, clear, api, query, duration, number, readFilters, formValues, writeAddress } = Sightline;
  let form;

  function figures(id, pairs) {
    clear(document.getElementById(id)).append(...pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { class: "num" }, v)]));
  }

  function chosen() {
    const values = formValues(form);
    return { hours: values.hours || "24", service: values.service || "" };
  }

  async function traces() {
    const { hours, service } = chosen();
    const summary = await api("/traces/stats/summary" + query({ hours, service }));
    document.getElementById("trace-total").textContent = summary.total_traces + " traces";
    figures("trace-figures", [
      ["Errors", summary.errors + " (" + number(summary.error_rate) + " %)"],
      ["p50", duration(summary.p50_ms)],
      ["p95", duration(summary.p95_ms)],
      ["p99", duration(summary.p99_ms)],
    ]);
  }

  async function logs() {
    const stats = await api("/logs/stats/levels" + query({ hours: chosen().hours }));
    const levels = stats.levels || {};
    const total = Object.values(levels).reduce((sum, n) => sum + Number(n), 0);
    document.getElementById("log-total").textContent = total + " records";
    figures("log-figures", ["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"].map((level) => [level, String(levels[level] || 0)]));
  }

  async function alerts() {
    const answer = await api("/alerts/instances" + query({ hours: chosen().hours }));
    const instances = answer.instances || [];
    const count = (status) => instances.filter((i) => i.status === status).length;
    document.getElementById("alert-total").textContent = count("firing") + " firing";
    figures("alert-figures", [["Acknowledged", String(count("acknowledged"))], ["Resolved", String(count("resolved"))]]);
  }

  // What retention has left: the oldest time still stored per signal (docs/retention.md).
  async function retention() {
    const answer = await api("/retention");
    const oldest = answer.oldest || {};
    const names = [["traces", "Traces"], ["logs", "Logs"], ["llm_calls", "LLM calls"], ["alert_history", "Resolved alerts"]];
    figures("retention-figures", names.map(([key, label]) => [label, oldest[key] ? oldest[key].replace("T", " ").slice(0, 19) + " UTC" : "none"]));
  }

  // The window's series; a range picked on a chart opens the trace list for it.
  async function charts() {
    const { hours, service } = chosen();
    const series = await api("/traces/stats/timeseries" + query({ hours, service }));
    const openTraces = (from, to) => {
      location.assign("/traces" + query({ from, to, service }));
    };
    clear(document.getElementById("overview-charts")).append(...SightlineCharts.traceCharts(series, openTraces));
  }

  // The services seen recently (Tempo's tag values), keeping the chosen one listed.
  async function services() {
    const select = form.elements.service;
    const current = select.value;
    const answer = await api("/api/search/tag/service.name/values", { root: "" });
    const names = [...new Set([...(answer.tagValues || []), current].filter(Boolean))].sort();
    select.replaceChildren(el("option", { value: "" }, "All services"), ...names.map((name) => el("option", { value: name }, name)));
    select.value = current;
  }

  async function load() {
    const { hours, service } = chosen();
    const label = form.elements.hours.selectedOptions[0];
    document.getElementById("overview-window").textContent = "(" + (label ? label.textContent.toLowerCase() : hours + " hours") + (service ? ", " + service : "") + ")";
    const problems = [];
    const parts = [["Traces", traces], ["Logs", logs], ["Alerts", alerts], ["Retention", retention], ["Charts", charts]];
    await Promise.all(parts.map(([name, work]) => work().catch((error) => {
      problems.push(name + ": " + error.message);
    })));
    Sightline.showStatus(document.getElementById("overview-status"), problems.join(" · "), problems.length > 0);
  }

  document.addEventListener("DOMContentLoaded", async () => {
    form = document.getElementById("overview-filters");
    // A deep-linked service is an option before the list arrives.
    const linked = new URLSearchParams(location.search).get("service");
    if (linked) form.elements.service.append(el("option", { value: linked }, linked));
    readFilters(form);
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("change", () => {
      const { hours, service } = chosen();
      writeAddress({ hours: hours === "24" ? "" : hours, service }, true);
      load();
    });
    window.addEventListener("popstate", () => {
      readFilters(form);
      load();
    });
    services().catch(() => {});
    await load();
  });
})();

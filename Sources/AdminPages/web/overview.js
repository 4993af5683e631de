// /: a summary of the last 24 hours, each card linking to its page, and the oldest data kept.
"use strict";

(() => {
  const { el, clear, api, duration, number } = Sightline;

  function figures(id, pairs) {
    clear(document.getElementById(id)).append(...pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { class: "num" }, v)]));
  }

  async function traces() {
    const summary = await api("/traces/stats/summary?hours=24");
    document.getElementById("trace-total").textContent = summary.total_traces + " traces";
    figures("trace-figures", [
      ["Errors", summary.errors + " (" + number(summary.error_rate) + " %)"],
      ["p50", duration(summary.p50_ms)],
      ["p95", duration(summary.p95_ms)],
      ["p99", duration(summary.p99_ms)],
    ]);
  }

  async function logs() {
    const stats = await api("/logs/stats/levels?hours=24");
    const levels = stats.levels || {};
    const total = Object.values(levels).reduce((sum, n) => sum + Number(n), 0);
    document.getElementById("log-total").textContent = total + " records";
    figures("log-figures", ["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"].map((level) => [level, String(levels[level] || 0)]));
  }

  async function alerts() {
    const answer = await api("/alerts/instances?hours=24");
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

  document.addEventListener("DOMContentLoaded", async () => {
    const problems = [];
    await Promise.all([traces(), logs(), alerts(), retention()].map((work, index) => work.catch((error) => {
      problems.push(["Traces", "Logs", "Alerts", "Retention"][index] + ": " + error.message);
    })));
    Sightline.showStatus(document.getElementById("overview-status"), problems.join(" · "), problems.length > 0);
  });
})();

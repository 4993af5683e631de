// /traces: charts of the current filter over its time range (charts.js). A range dragged or
// clicked on a chart becomes the form's `from` and `to` (Unix milliseconds, in the address, so
// it can be linked), shown as a chip that clears it; the "Time range" menu stands aside while
// a range is set.
"use strict";

const SightlineTraceCharts = (() => {
  const { el, clear, api, query, showStatus } = Sightline;
  let request = 0;

  function rangeText(from, to) {
    const withDay = (ms) => Sightline.time(new Date(ms).toISOString()).slice(0, 16);
    const sameDay = new Date(from).toDateString() === new Date(to - 1).toDateString();
    return withDay(from) + " – " + (sameDay ? SightlineCharts.clock(to) : withDay(to));
  }

  // The chip and the menu follow the form's range.
  function showRange(form) {
    const from = Number(form.elements.from.value), to = Number(form.elements.to.value);
    const chip = document.getElementById("range-chip");
    const ranged = from > 0 && to > from;
    form.elements.hours.disabled = ranged;
    form.elements.hours.closest("label").hidden = ranged;
    chip.hidden = !ranged;
    clear(chip);
    if (ranged) {
      chip.append(el("span", {}, "Range " + rangeText(from, to)),
        el("button", { type: "button", class: "link-button", onclick: () => setRange(form, "", "") }, "Clear range"));
    }
  }

  function setRange(form, from, to) {
    form.elements.from.value = from;
    form.elements.to.value = to;
    showRange(form);
    form.requestSubmit();
  }

  // Draws the charts of the list's filters (`filters()`, read once the menu follows the range).
  async function load(form, filters) {
    showRange(form);
    const mine = ++request;
    const status = document.getElementById("charts-status");
    let series;
    try {
      series = await api("/traces/stats/timeseries" + query(filters()));
    } catch (error) {
      if (mine === request) showStatus(status, "Could not load the charts: " + error.message, true);
      return;
    }
    if (mine !== request) return;
    showStatus(status, "");
    clear(document.getElementById("trace-charts")).append(...SightlineCharts.traceCharts(series, (from, to) => setRange(form, from, to)));
  }

  return { load };
})();

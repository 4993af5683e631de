// /errors: error groups (exception type, normalised message, service) with counts, first and
// last seen and a sparkline of occurrences per step; a group opens its newest occurrences, each
// linking to its trace's waterfall and logs. Filters and the open group are kept in the address
// bar (`/errors?hours=24&service=shop&group=…`).
"use strict";

(() => {
  const { el, clear, api, query, readFilters, formValues, writeAddress, showStatus, timeElement, labelColumns } = Sightline;
  const SVG = "http://www.w3.org/2000/svg";

  let selectedGroup = null;

  function filters() {
    const values = formValues(document.getElementById("filters"));
    return { hours: values.hours || "24", service: values.service || "" };
  }

  function updateAddress(push) {
    writeAddress({ ...filters(), group: selectedGroup || "" }, push);
  }

  // An SVG sparkline of `counts` (equal steps, the largest at the top); its title says the
  // figures as text for screen readers and on hover.
  function sparkline(counts, stepSeconds) {
    const width = 100, height = 24;
    const largest = Math.max(1, ...counts);
    const x = (index) => (counts.length === 1 ? width / 2 : (index / (counts.length - 1)) * width);
    const y = (count) => height - 1 - (count / largest) * (height - 3);
    const points = counts.map((count, index) => x(index).toFixed(2) + "," + y(count).toFixed(2)).join(" ");
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "sparkline");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("data-points", String(counts.length));
    const title = document.createElementNS(SVG, "title");
    title.textContent = "Occurrences per " + Math.round(stepSeconds / 60) + " min: " + counts.join(", ");
    svg.append(title);
    const area = document.createElementNS(SVG, "polygon");
    area.setAttribute("points", "0," + (height - 1) + " " + points + " " + width + "," + (height - 1));
    const base = document.createElementNS(SVG, "line");
    for (const [name, value] of [["x1", 0], ["x2", width], ["y1", height - 1], ["y2", height - 1]]) base.setAttribute(name, String(value));
    base.setAttribute("class", "base");
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points);
    svg.append(area, base, line);
    return svg;
  }

  async function loadGroups() {
    const status = document.getElementById("list-status");
    const body = clear(document.querySelector("#group-table tbody"));
    showStatus(status, "Loading…");
    let answer;
    try {
      answer = await api("/errors" + query({ ...filters(), limit: 200 }));
    } catch (error) {
      showStatus(status, "Could not load the error groups: " + error.message, true);
      return;
    }
    const groups = answer.groups || [];
    for (const group of groups) {
      const link = el("a", { class: "group-link", href: "/errors" + query({ ...filters(), group: group.group_id }), "data-group-id": group.group_id },
        el("span", { class: "group-type" }, group.error_type), group.message);
      link.addEventListener("click", (event) => {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        select(group.group_id, true);
      });
      const split = [group.log_count ? group.log_count + " in logs" : "", group.span_count ? group.span_count + " in spans" : ""].filter(Boolean).join(", ");
      body.append(el("tr", { "data-group-id": group.group_id, class: group.group_id === selectedGroup ? "selected" : null },
        el("td", { class: "group" }, link, group.sample_message !== group.message ? el("span", { class: "sample" }, group.sample_message) : null),
        el("td", {}, group.service_name || "–"),
        el("td", { class: "num" }, String(group.count), el("span", { class: "split" }, split)),
        el("td", { class: "nowrap" }, timeElement(group.first_seen)),
        el("td", { class: "nowrap" }, timeElement(group.last_seen)),
        el("td", {}, sparkline(group.series || [], answer.step_seconds || 60))));
    }
    labelColumns(document.getElementById("group-table"));
    const shown = groups.length < answer.total_groups ? " (the " + groups.length + " largest shown)" : "";
    showStatus(status, groups.length === 0 ? "No errors in this time range."
      : answer.total_groups + (answer.total_groups === 1 ? " group, " : " groups, ") + answer.total_errors + " errors" + shown);
  }

  function markSelected() {
    for (const row of document.querySelectorAll("#group-table tbody tr")) {
      row.classList.toggle("selected", row.dataset.groupId === selectedGroup);
    }
  }

  async function select(groupID, push) {
    selectedGroup = groupID;
    updateAddress(push);
    markSelected();
    await loadOccurrences();
  }

  function occurrenceRow(occurrence) {
    const isSpan = occurrence.source === "span";
    const links = el("div", { class: "links" });
    if (occurrence.trace_id) {
      links.append(el("a", { href: "/traces" + query({ trace_id: occurrence.trace_id, span_id: occurrence.span_id || "" }) }, "Trace waterfall"));
      links.append(el("a", { href: "/logs" + query({ hours: filters().hours, trace_id: occurrence.trace_id }) }, "Logs of the trace"));
    }
    if (!isSpan) {
      links.append(el("a", { href: "/logs" + query({ hours: filters().hours, level: occurrence.level, service: occurrence.service_name || "", trace_id: occurrence.trace_id || "" }) }, "Log record"));
    }
    let details = null;
    if (!isSpan) {
      const facts = [["Logger", occurrence.logger_name], ["Record id", occurrence.id], ["Span", occurrence.span_id]].filter(([, v]) => v);
      details = el("details", {}, el("summary", {}, "Record"),
        el("dl", { class: "attributes" }, facts.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
        occurrence.exception_type ? el("p", { class: "exception" }, occurrence.exception_type + ": " + (occurrence.exception_message || "")) : null,
        occurrence.exception_traceback ? el("pre", { class: "traceback" }, occurrence.exception_traceback) : null);
    } else {
      details = el("span", { class: "muted" }, occurrence.operation_name + " · " + Sightline.duration(occurrence.duration_ms));
    }
    const message = isSpan ? (occurrence.error_message || occurrence.operation_name) : occurrence.message;
    return el("tr", { "data-source": occurrence.source },
      el("td", { class: "nowrap" }, timeElement(occurrence.timestamp)),
      el("td", {}, el("span", { class: "badge " + (isSpan ? "status-error" : "level-" + occurrence.level) }, isSpan ? "span" : occurrence.level)),
      el("td", { class: "message" }, message),
      el("td", {}, occurrence.service_name || "–"),
      el("td", {}, links),
      el("td", {}, details));
  }

  async function loadOccurrences() {
    const panel = document.getElementById("group-detail");
    const status = document.getElementById("detail-status");
    const body = clear(document.querySelector("#occurrence-table tbody"));
    if (!selectedGroup) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    showStatus(status, "Loading…");
    let answer;
    try {
      answer = await api("/errors/" + encodeURIComponent(selectedGroup) + "/occurrences" + query({ hours: filters().hours, limit: 50 }));
    } catch (error) {
      document.getElementById("detail-heading").textContent = "Error group " + selectedGroup;
      document.getElementById("group-summary").textContent = "";
      showStatus(status, error.status === 404 ? "This error group has no errors in the time range." : "Could not load the occurrences: " + error.message, true);
      return;
    }
    document.getElementById("detail-heading").textContent = answer.error_type + ": " + answer.message;
    document.getElementById("group-summary").textContent = (answer.service_name || "no service") + " · " + answer.count + " errors in the time range";
    document.getElementById("group-logs-link").setAttribute("href", "/logs" + query({ hours: filters().hours, service: answer.service_name || "", level: "ERROR" }));
    const occurrences = answer.occurrences || [];
    body.append(...occurrences.map(occurrenceRow));
    labelColumns(document.getElementById("occurrence-table"));
    showStatus(status, occurrences.length + " newest occurrences");
  }

  function fromAddress() {
    readFilters(document.getElementById("filters"));
    const group = new URLSearchParams(location.search).get("group");
    selectedGroup = group && /^[0-9a-fA-F]{16}$/.test(group) ? group.toLowerCase() : null;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("filters");
    fromAddress();
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      updateAddress(true);
      loadGroups();
      loadOccurrences();
    });
    form.addEventListener("reset", () => {
      setTimeout(() => {
        selectedGroup = null;
        updateAddress(true);
        loadGroups();
        loadOccurrences();
      });
    });
    window.addEventListener("popstate", () => {
      fromAddress();
      loadGroups();
      loadOccurrences();
    });
    loadGroups();
    loadOccurrences();
  });
})();

// /traces: filters, a paged list of traces, and the selected trace's waterfall.
"use strict";

(() => {
  const { el, clear, api, query, formValues, readFilters, writeAddress, showStatus, duration, time } = Sightline;
  const PAGE_SIZE = 50;
  const FILTERS = ["hours", "from", "to", "status", "service", "operation", "min_duration_ms"];
  const KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];

  // `capped`: more than `total` match (the API counts up to its limit, then says so).
  let form, offset = 0, total = 0, capped = false, selectedTrace = null, selectedSpan = null;
  let listRequest = 0, traceRequest = 0;

  function filters() {
    const values = formValues(form);
    const chosen = {};
    for (const name of FILTERS) if (values[name] !== undefined) chosen[name] = values[name];
    return chosen;
  }

  function address(push) {
    writeAddress({ ...filters(), offset: offset || "", trace_id: selectedTrace || "", span_id: selectedSpan || "" }, push);
  }

  // --- the list ---------------------------------------------------------------------------------
  async function loadList() {
    const request = ++listRequest;
    const status = document.getElementById("list-status");
    const table = document.querySelector("#trace-table");
    table.setAttribute("aria-busy", "true");
    showStatus(status, "Loading traces…");
    SightlineTraceCharts.load(form, filters);
    let page;
    try {
      page = await api("/traces" + query({ ...filters(), limit: PAGE_SIZE, offset }));
    } catch (error) {
      if (request === listRequest) {
        table.removeAttribute("aria-busy");
        showStatus(status, "Could not load traces: " + error.message, true);
      }
      return;
    }
    if (request !== listRequest) return;
    table.removeAttribute("aria-busy");
    total = page.total;
    capped = page.total_capped === true;
    renderList(page.traces);
    showStatus(status, total === 0 ? "No traces match these filters." : "");
  }

  function renderList(traces) {
    const body = clear(document.querySelector("#trace-table tbody"));
    for (const trace of traces) {
      const link = el("a", { href: "/traces" + query({ ...filters(), offset: offset || "", trace_id: trace.trace_id }), "data-trace-id": trace.trace_id },
        trace.root_span_name || trace.endpoint || trace.trace_id);
      link.addEventListener("click", (event) => {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        select(trace.trace_id, null, true);
      });
      const row = el("tr", { "data-trace-id": trace.trace_id, class: trace.trace_id === selectedTrace ? "selected" : null },
        el("td", { class: "nowrap" }, Sightline.timeElement(trace.start_time)),
        el("td", {}, trace.service_name || "–"),
        el("td", { class: "wrap" }, link),
        el("td", { class: "mono trace-id", title: trace.trace_id }, trace.trace_id.slice(0, 16) + "…"),
        el("td", { class: "num" }, duration(trace.duration_ms)),
        el("td", {}, el("span", { class: "badge status-" + (trace.status || "unknown") }, trace.status || "unknown")));
      row.addEventListener("click", (event) => {
        if (event.target.closest("a")) return;
        select(trace.trace_id, null, true);
      });
      body.append(row);
    }
    Sightline.labelColumns(document.getElementById("trace-table"));
    const first = total === 0 ? 0 : offset + 1;
    const last = capped ? offset + traces.length : Math.min(offset + traces.length, total);
    document.getElementById("page-info").textContent = first + "–" + last + " of " + (capped ? "more than " + total : total);
    document.getElementById("previous-page").disabled = offset === 0;
    document.getElementById("next-page").disabled = capped ? traces.length < PAGE_SIZE : offset + PAGE_SIZE >= total;
  }

  function markSelectedRow() {
    for (const row of document.querySelectorAll("#trace-table tbody tr")) {
      row.classList.toggle("selected", row.dataset.traceId === selectedTrace);
    }
  }

  // --- one trace ----------------------------------------------------------------------------------
  function select(traceID, spanID, push) {
    selectedTrace = traceID;
    selectedSpan = spanID;
    address(push);
    markSelectedRow();
    loadTrace().then(() => {
      // Picked from the list: take the reader (and keyboard focus) to the waterfall.
      const heading = document.getElementById("detail-heading");
      heading.focus({ preventScroll: true });
      heading.scrollIntoView({ block: "start" });
    });
  }

  async function loadTrace() {
    const section = document.getElementById("trace-detail");
    if (!selectedTrace) {
      section.hidden = true;
      return;
    }
    const request = ++traceRequest;
    section.hidden = false;
    const status = document.getElementById("detail-status");
    showStatus(status, "Loading trace…");
    let detail;
    try {
      detail = await api("/traces/" + encodeURIComponent(selectedTrace));
    } catch (error) {
      if (request !== traceRequest) return;
      clear(document.getElementById("waterfall"));
      clear(document.getElementById("service-legend"));
      document.getElementById("span-detail").hidden = true;
      document.getElementById("trace-summary").textContent = "";
      showStatus(status, error.status === 404 ? "Trace " + selectedTrace + " is not stored." : "Could not load the trace: " + error.message, true);
      return;
    }
    if (request !== traceRequest) return;
    showStatus(status, "");
    renderTrace(detail.trace, detail.spans);
  }

  // Nanoseconds since the epoch of a span's start and end (the exact columns when present).
  function spanTimes(span) {
    const start = span.start_time_unix_nano != null ? Number(span.start_time_unix_nano) : Date.parse(span.start_time) * 1e6;
    let end = span.end_time_unix_nano != null ? Number(span.end_time_unix_nano) : NaN;
    if (!Number.isFinite(end)) end = span.duration_ms != null ? start + Number(span.duration_ms) * 1e6 : start;
    return { start, end };
  }

  function renderTrace(trace, spans) {
    document.getElementById("detail-heading").textContent = "Trace " + trace.trace_id;
    const logs = document.getElementById("trace-logs-link");
    logs.href = "/logs" + query({ trace_id: trace.trace_id, hours: 168 });
    const services = [...new Set(spans.map((s) => s.service_name || "unknown"))].sort();
    const errors = spans.filter((s) => s.status === "error").length;
    document.getElementById("trace-summary").textContent =
      [trace.root_span_name || trace.endpoint, spans.length + (spans.length === 1 ? " span" : " spans"),
        services.length + (services.length === 1 ? " service" : " services"), duration(trace.duration_ms),
        errors ? errors + (errors === 1 ? " error" : " errors") : "no errors", "started " + time(trace.start_time)]
        .filter(Boolean).join(" · ");

    // Colours by the service's place in this trace: distinct for up to ten services.
    const colourOf = (service) => "c" + (services.indexOf(service || "unknown") % 10);
    const legend = clear(document.getElementById("service-legend"));
    for (const service of services) {
      legend.append(el("span", { class: "legend-item" }, el("span", { class: "swatch " + colourOf(service), "aria-hidden": "true" }), service));
    }

    const times = spans.map(spanTimes);
    const origin = Math.min(...times.map((t) => t.start));
    const finish = Math.max(...times.map((t) => t.end));
    const span = Math.max(finish - origin, 1); // ns on the shared axis; never zero

    const waterfall = clear(document.getElementById("waterfall"));
    const axis = el("div", { class: "waterfall-axis", "aria-hidden": "true" }, el("span", { class: "axis-name" }, "Span"), el("span", { class: "axis-duration" }, "Duration"));
    const ticks = el("div", { class: "axis-ticks" });
    for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
      const place = fraction === 0 ? " start" : fraction === 1 ? " end" : fraction === 0.5 ? "" : " quarter";
      const tick = el("span", { class: "tick" + place }, duration((span * fraction) / 1e6));
      tick.style.left = fraction * 100 + "%";
      ticks.append(tick);
    }
    axis.append(ticks);
    waterfall.append(axis);

    spans.forEach((s, index) => {
      const { start, end } = times[index];
      const left = ((start - origin) / span) * 100;
      const width = ((end - start) / span) * 100;
      const colour = colourOf(s.service_name);
      const isError = s.status === "error";
      const name = el("button", { type: "button", class: "span-name", "aria-pressed": s.span_id === selectedSpan ? "true" : "false",
        title: (s.service_name || "unknown") + ": " + s.operation_name },
        el("span", { class: "swatch " + colour, "aria-hidden": "true" }),
        el("span", { class: "span-operation" }, s.operation_name),
        el("span", { class: "span-service" }, s.service_name || "unknown"),
        isError ? el("span", { class: "badge status-error" }, "error") : null);
      name.style.paddingLeft = 0.4 + (s.depth || 0) * 1.1 + "rem";
      const bar = el("div", { class: "span-bar " + colour + (isError ? " error" : ""), "aria-hidden": "true" });
      bar.style.left = left + "%";
      bar.style.width = width + "%";
      const row = el("div", { role: "listitem", class: "span-row" + (isError ? " error" : "") + (s.span_id === selectedSpan ? " selected" : ""),
        "data-span-id": s.span_id, "data-depth": s.depth || 0, "data-start-ms": (start - origin) / 1e6, "data-duration-ms": (end - start) / 1e6 },
        name,
        el("span", { class: "span-duration num" }, duration((end - start) / 1e6)),
        el("div", { class: "span-track" }, bar));
      name.addEventListener("click", () => selectSpan(s));
      row.querySelector(".span-track").addEventListener("click", () => selectSpan(s));
      waterfall.append(row);
    });

    const chosen = spans.find((s) => s.span_id === selectedSpan);
    if (chosen) showSpan(chosen);
    else document.getElementById("span-detail").hidden = true;
  }

  function selectSpan(s) {
    selectedSpan = s.span_id;
    address(false);
    for (const row of document.querySelectorAll(".span-row")) {
      const on = row.dataset.spanId === selectedSpan;
      row.classList.toggle("selected", on);
      row.querySelector(".span-name").setAttribute("aria-pressed", on ? "true" : "false");
    }
    showSpan(s);
  }

  function showSpan(s) {
    const panel = clear(document.getElementById("span-detail"));
    panel.hidden = false;
    const { start, end } = spanTimes(s);
    const facts = [
      ["Service", s.service_name || "unknown"],
      ["Span ID", s.span_id],
      ["Parent span ID", s.parent_span_id || "none (root)"],
      ["Kind", KINDS[s.span_kind] || String(s.span_kind ?? "")],
      ["Status", s.status + (s.error_message ? ": " + s.error_message : "")],
      ["Start", time(s.start_time)],
      ["Duration", duration((end - start) / 1e6)],
    ];
    panel.append(
      el("h3", {}, s.operation_name),
      el("dl", { class: "attributes facts" }, facts.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
      el("h4", {}, "Attributes"),
      Sightline.attributeList(Array.isArray(s.attributes) && s.attributes.length ? s.attributes : s.tags, "No attributes"),
      el("h4", {}, "Events"),
      events(s, start),
      el("h4", {}, "Links"),
      links(s),
      el("h4", {}, "Resource"),
      Sightline.attributeList(s.resource && s.resource.attributes, "No resource attributes"));
  }

  function events(s, spanStart) {
    const list = Array.isArray(s.events) && s.events.length ? s.events : [];
    if (list.length === 0) return el("p", { class: "muted" }, "No events");
    return el("ol", { class: "events" }, list.map((event) => {
      const at = event.timeUnixNano != null ? (Number(event.timeUnixNano) - spanStart) / 1e6 : null;
      return el("li", {},
        el("p", {}, el("strong", {}, event.name || "(unnamed)"), at === null ? "" : " at +" + duration(at)),
        Sightline.attributeList(event.attributes, "No attributes"));
    }));
  }

  function links(s) {
    const list = Array.isArray(s.links) ? s.links : [];
    if (list.length === 0) return el("p", { class: "muted" }, "No links");
    return el("ul", { class: "links" }, list.map((link) => el("li", {},
      el("a", { href: "/traces" + query({ trace_id: link.traceId, span_id: link.spanId }), class: "mono" }, link.traceId + " / " + link.spanId),
      Sightline.attributeList(link.attributes, "No attributes"))));
  }

  // --- wiring -----------------------------------------------------------------------------------
  function fromAddress() {
    readFilters(form);
    const search = new URLSearchParams(location.search);
    offset = Math.max(0, parseInt(search.get("offset") || "0", 10) || 0);
    selectedTrace = search.get("trace_id") || null;
    selectedSpan = search.get("span_id") || null;
  }

  document.addEventListener("DOMContentLoaded", () => {
    form = document.getElementById("filters");
    fromAddress();
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      offset = 0;
      address(true);
      loadList();
    });
    form.addEventListener("reset", () => setTimeout(() => {
      offset = 0;
      address(true);
      loadList();
    }));
    document.getElementById("previous-page").addEventListener("click", () => {
      offset = Math.max(0, offset - PAGE_SIZE);
      address(true);
      loadList();
    });
    document.getElementById("next-page").addEventListener("click", () => {
      offset += PAGE_SIZE;
      address(true);
      loadList();
    });
    window.addEventListener("popstate", () => {
      fromAddress();
      loadList();
      loadTrace();
    });
    loadList();
    loadTrace();
  });
})();

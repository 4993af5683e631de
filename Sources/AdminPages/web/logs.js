// /logs: filters, a paged list of records with expandable details, and a live mode that
// streams new records over the log stream WebSocket (pausable, at most MAX_ROWS kept).
"use strict";

(() => {
  const { el, clear, api, query, formValues, readFilters, writeAddress, showStatus } = Sightline;
  const PAGE_SIZE = 100;
  const MAX_ROWS = 500; // rows kept in live mode, and records held while paused
  const FILTERS = ["hours", "level", "service", "logger_name", "trace_id", "search"];

  // `capped`: more than `total` match (the API counts up to its limit, then says so).
  let form, offset = 0, total = 0, capped = false, listRequest = 0;
  const live = { on: false, paused: false, socket: null, held: [], retry: 0, timer: null, generation: 0 };

  function filters() {
    const values = formValues(form);
    const chosen = {};
    for (const name of FILTERS) if (values[name] !== undefined) chosen[name] = values[name];
    return chosen;
  }

  // --- rows -----------------------------------------------------------------------------------
  function levelClass(level) {
    return "level-" + String(level || "INFO").toUpperCase().replace(/[^A-Z]/g, "");
  }

  let rowNumber = 0;
  // Two rows: the record, and its details (hidden until expanded, filled on first expand).
  function logRows(log, isNew) {
    const detailID = "log-detail-" + ++rowNumber;
    const toggle = el("button", { type: "button", class: "expand", "aria-expanded": "false", "aria-controls": detailID, "aria-label": "Details" }, "▸");
    const traceCell = log.trace_id
      ? el("a", { href: "/traces" + query({ trace_id: log.trace_id, hours: 168 }), class: "mono", title: log.trace_id, "data-trace-id": log.trace_id }, log.trace_id.slice(0, 8) + "…")
      : "–";
    const row = el("tr", { class: "log-row " + levelClass(log.level) + (isNew ? " new" : ""), "data-log-id": log.id },
      el("td", {}, toggle),
      el("td", { class: "nowrap mono" }, Sightline.timeElement(log.timestamp)),
      el("td", {}, el("span", { class: "badge " + levelClass(log.level) }, log.level || "–")),
      el("td", {}, log.service_name || "–"),
      el("td", { class: "wrap" }, log.logger_name || "–"),
      el("td", { class: "message" }, log.message ?? ""),
      el("td", {}, traceCell));
    const detail = el("tr", { class: "log-detail", id: detailID, hidden: true }, el("td", { colspan: 7 }));
    let filled = false;
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.textContent = open ? "▾" : "▸";
      detail.hidden = !open;
      if (open && !filled) {
        filled = true;
        fillDetail(detail.firstChild, log);
      }
    });
    return [row, detail];
  }

  async function fillDetail(cell, log) {
    clear(cell).append(el("p", { class: "muted" }, "Loading…"));
    let full = log;
    try {
      if (log.id) full = await api("/logs/" + encodeURIComponent(log.id));
    } catch (error) {
      cell.append(el("p", { class: "error-text" }, "Could not load the full record: " + error.message));
    }
    clear(cell);
    const facts = [
      ["Message", full.message ?? ""],
      ["Trace ID", full.trace_id || "–"],
      ["Span ID", full.span_id || "–"],
      ["Severity", [full.severity_text, full.severity_number].filter((v) => v !== null && v !== undefined && v !== "").join(" / ") || "–"],
      ["User", full.user_email || "–"],
      ["Endpoint", full.endpoint || "–"],
    ];
    cell.append(el("dl", { class: "attributes facts" }, facts.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
    cell.append(el("h4", {}, "Attributes"),
      Sightline.attributeList(Array.isArray(full.attributes) && full.attributes.length ? full.attributes : full.extra, "No attributes"));
    if (full.exception_type || full.exception_message || full.exception_traceback) {
      cell.append(el("h4", {}, "Exception"),
        el("p", { class: "exception" }, [full.exception_type, full.exception_message].filter(Boolean).join(": ")));
      if (full.exception_traceback) cell.append(el("pre", { class: "traceback" }, full.exception_traceback));
    }
    if (full.resource && full.resource.attributes) {
      cell.append(el("h4", {}, "Resource"), Sightline.attributeList(full.resource.attributes, "No resource attributes"));
    }
  }

  // --- the list -------------------------------------------------------------------------------
  async function loadList() {
    const request = ++listRequest;
    const status = document.getElementById("list-status");
    const table = document.querySelector("#log-table");
    table.setAttribute("aria-busy", "true");
    showStatus(status, "Loading logs…");
    let page;
    try {
      page = await api("/logs" + query({ ...filters(), limit: PAGE_SIZE, offset }));
    } catch (error) {
      if (request === listRequest) {
        table.removeAttribute("aria-busy");
        showStatus(status, "Could not load logs: " + error.message, true);
      }
      return;
    }
    if (request !== listRequest) return;
    table.removeAttribute("aria-busy");
    total = page.total;
    capped = page.total_capped === true;
    const body = clear(document.querySelector("#log-table tbody"));
    for (const log of page.logs) body.append(...logRows(log, false));
    Sightline.labelColumns(document.getElementById("log-table"));
    showStatus(status, total === 0 ? "No log records match these filters." : "");
    renderPager(page.logs.length);
  }

  function renderPager(shown) {
    const first = total === 0 ? 0 : offset + 1;
    const last = capped ? offset + shown : Math.min(offset + shown, total);
    document.getElementById("page-info").textContent = first + "–" + last + " of " + (capped ? "more than " + total : total);
    document.getElementById("previous-page").disabled = live.on || offset === 0;
    document.getElementById("next-page").disabled = live.on || (capped ? shown < PAGE_SIZE : offset + PAGE_SIZE >= total);
  }

  // --- live mode ------------------------------------------------------------------------------
  function setLive(on) {
    live.on = on;
    const button = document.getElementById("live-toggle");
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "Stop live" : "Start live";
    const pause = document.getElementById("pause-toggle");
    pause.hidden = !on;
    setPaused(false);
    document.querySelector(".pager").hidden = on;
    if (on) {
      offset = 0;
      connect();
    } else {
      disconnect();
      showStatus(document.getElementById("live-status"), "");
      loadList();
    }
  }

  function setPaused(paused) {
    live.paused = paused;
    const pause = document.getElementById("pause-toggle");
    pause.setAttribute("aria-pressed", paused ? "true" : "false");
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused && live.held.length) {
      const held = live.held;
      live.held = [];
      for (const log of held) show(log);
    }
    if (live.on) liveStatus();
  }

  function liveStatus(extra) {
    const state = !live.socket || live.socket.readyState !== WebSocket.OPEN ? "connecting…"
      : live.paused ? "paused, " + live.held.length + (live.held.length === 1 ? " new record held" : " new records held")
      : "streaming new records";
    showStatus(document.getElementById("live-status"), "Live: " + state + (extra ? " — " + extra : ""));
  }

  function connect() {
    disconnect();
    const generation = ++live.generation;
    const chosen = filters();
    const socket = Sightline.openLogStream({ level: chosen.level, service: chosen.service, trace_id: chosen.trace_id, search: chosen.search });
    live.socket = socket;
    liveStatus();
    socket.addEventListener("open", () => {
      if (generation !== live.generation) return;
      live.retry = 0;
      liveStatus();
    });
    socket.addEventListener("message", (event) => {
      if (generation !== live.generation || typeof event.data !== "string") return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.notice) {
        liveStatus(message.notice);
        return;
      }
      const logger = chosen.logger_name; // the stream has no logger filter: applied here
      if (logger && !String(message.logger_name || "").toLowerCase().includes(logger.toLowerCase())) return;
      if (live.paused) {
        live.held.push(message);
        if (live.held.length > MAX_ROWS) live.held.shift();
        liveStatus();
      } else {
        show(message);
      }
    });
    socket.addEventListener("close", () => {
      if (generation !== live.generation || !live.on) return;
      live.socket = null;
      const delay = Math.min(30, 2 ** live.retry);
      live.retry = Math.min(live.retry + 1, 5);
      showStatus(document.getElementById("live-status"), "Live: disconnected, reconnecting in " + delay + " s", true);
      live.timer = setTimeout(async () => {
        // A refused upgrade only shows as a close: ask the API whether the key is the reason
        // (it opens the key prompt and waits for a key if it is).
        try {
          await Sightline.checkKey();
        } catch {
          // Not a key problem; reconnecting will tell.
        }
        if (generation === live.generation && live.on) connect();
      }, delay * 1000);
    });
  }

  function disconnect() {
    live.generation++;
    clearTimeout(live.timer);
    if (live.socket) live.socket.close();
    live.socket = null;
    live.held = [];
  }

  // A streamed record at the top; the oldest rows go beyond MAX_ROWS.
  function show(log) {
    const body = document.querySelector("#log-table tbody");
    body.prepend(...logRows(log, true));
    Sightline.labelColumns(document.getElementById("log-table"));
    while (body.rows.length > MAX_ROWS * 2) body.lastElementChild.remove();
    showStatus(document.getElementById("list-status"), "");
  }

  // --- wiring ---------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    form = document.getElementById("filters");
    readFilters(form);
    offset = Math.max(0, parseInt(new URLSearchParams(location.search).get("offset") || "0", 10) || 0);
    const apply = () => {
      offset = 0;
      writeAddress(filters(), true);
      loadList();
      if (live.on) connect();
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      apply();
    });
    form.addEventListener("reset", () => setTimeout(apply));
    document.getElementById("live-toggle").addEventListener("click", () => setLive(!live.on));
    document.getElementById("pause-toggle").addEventListener("click", () => setPaused(!live.paused));
    document.getElementById("previous-page").addEventListener("click", () => {
      offset = Math.max(0, offset - PAGE_SIZE);
      writeAddress({ ...filters(), offset: offset || "" }, true);
      loadList();
    });
    document.getElementById("next-page").addEventListener("click", () => {
      offset += PAGE_SIZE;
      writeAddress({ ...filters(), offset }, true);
      loadList();
    });
    window.addEventListener("popstate", () => {
      readFilters(form);
      offset = Math.max(0, parseInt(new URLSearchParams(location.search).get("offset") || "0", 10) || 0);
      loadList();
      if (live.on) connect();
    });
    loadList();
  });
})();

// /services: the service map from /services/graph. Services are nodes and calls between them
// edges, drawn as inline SVG (no library, nothing fetched): services in columns by their
// distance from the services traces enter by, edges as curves with arrows, each with its rate,
// error rate and p95 as text. A node opens the trace list of its service. Tables below list
// the same figures.
"use strict";

(() => {
  const { el, clear, api, query, number, duration, readFilters, formValues, writeAddress, showStatus, labelColumns } = Sightline;
  const SVG = "http://www.w3.org/2000/svg";
  const NODE_HEIGHT = 54;
  const ROW_HEIGHT = 96;
  const MARGIN = 24;
  let form;
  let graph = null;
  let drawnWidth = 0;

  function svg(tag, attributes, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  const rate = (value) => number(value, value < 10 ? 2 : 1) + "/min";
  const percent = (value) => number(value, 2) + "%";
  const hours = () => formValues(form).hours || "1";
  const tracesLink = (service) => "/traces" + query({ service, hours: hours() });

  // A name cut to about `width` pixels of 7-pixel characters (the whole name is the node's title).
  function fit(text, width) {
    const room = Math.max(4, Math.floor(width / 7));
    return text.length <= room ? text : text.slice(0, room - 1) + "…";
  }

  // Columns: the shortest distance, in calls, from a service traces enter by (one with trace
  // roots or no caller; else, in a cycle nothing enters, the first by name); each column's
  // services by name.
  function columns(nodes, edges) {
    const callers = new Map(nodes.map((n) => [n.service, 0]));
    for (const e of edges) callers.set(e.server, (callers.get(e.server) || 0) + 1);
    const level = new Map();
    let queue = nodes.filter((n) => n.root_requests > 0 || callers.get(n.service) === 0).map((n) => n.service);
    for (const service of queue) level.set(service, 0);
    const place = () => {
      while (queue.length) {
        const next = [];
        for (const service of queue) {
          for (const e of edges) {
            if (e.client === service && !level.has(e.server)) {
              level.set(e.server, level.get(service) + 1);
              next.push(e.server);
            }
          }
        }
        queue = next;
      }
    };
    place();
    for (const n of nodes) {
      if (level.has(n.service)) continue;
      level.set(n.service, 0);
      queue = [n.service];
      place();
    }
    const result = [];
    for (const n of nodes) {
      const index = level.get(n.service);
      (result[index] = result[index] || []).push(n);
    }
    return result.filter(Boolean);
  }

  function draw() {
    const container = clear(document.getElementById("service-map"));
    if (!graph) return;
    drawnWidth = container.clientWidth;
    const width = Math.max(320, container.clientWidth || 800);
    if (graph.nodes.length === 0) {
      container.append(svg("svg", { width, height: 60, role: "img", "aria-label": "No calls in this window" },
        svg("text", { class: "empty", x: MARGIN, y: 34 }, "No calls in this window.")));
      return;
    }
    const cols = columns(graph.nodes, graph.edges);
    const columnWidth = (width - 2 * MARGIN) / cols.length;
    const nodeWidth = Math.max(96, Math.min(210, columnWidth - 56));
    const rows = Math.max(...cols.map((c) => c.length));
    const height = rows * ROW_HEIGHT + 2 * MARGIN;
    const position = new Map();
    cols.forEach((column, c) => {
      const top = (height - column.length * ROW_HEIGHT) / 2;
      column.forEach((node, r) => {
        const x = MARGIN + c * columnWidth + (columnWidth - nodeWidth) / 2;
        const y = top + r * ROW_HEIGHT + (ROW_HEIGHT - NODE_HEIGHT) / 2;
        position.set(node.service, { x, y, column: c });
      });
    });

    const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "group", "aria-label": "Service map" });
    const marker = (id, failing) => svg("marker", { id, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: failing ? "arrow failing" : "arrow" }));
    root.append(svg("defs", {}, marker("service-arrow", false), marker("service-arrow-failing", true)));

    const edgeLayer = svg("g", { class: "edges" });
    const labelLayer = svg("g", { class: "edge-labels" });
    for (const e of graph.edges) {
      const from = position.get(e.client), to = position.get(e.server);
      if (!from || !to) continue;
      let p0, p1, p2, p3;
      if (to.column > from.column) {
        p0 = [from.x + nodeWidth, from.y + NODE_HEIGHT / 2];
        p3 = [to.x, to.y + NODE_HEIGHT / 2];
        const bend = (p3[0] - p0[0]) / 2;
        p1 = [p0[0] + bend, p0[1]];
        p2 = [p3[0] - bend, p3[1]];
      } else if (to.column < from.column) {
        // Back to an earlier column: from the caller's left to the callee's right, bowed
        // below the forward calls between the same columns.
        p0 = [from.x, from.y + NODE_HEIGHT / 2 + 8];
        p3 = [to.x + nodeWidth, to.y + NODE_HEIGHT / 2 + 8];
        const bend = (p0[0] - p3[0]) / 2, drop = ROW_HEIGHT * 0.5;
        p1 = [p0[0] - bend, p0[1] + drop];
        p2 = [p3[0] + bend, p3[1] + drop];
      } else {
        // Within a column: a loop right of the nodes.
        p0 = [from.x + nodeWidth, from.y + NODE_HEIGHT / 2 + 8];
        p3 = [to.x + nodeWidth, to.y + NODE_HEIGHT / 2 - 8];
        const reach = Math.min(48, (columnWidth - nodeWidth) / 2 + 20);
        p1 = [p0[0] + reach, p0[1]];
        p2 = [p3[0] + reach, p3[1]];
      }
      const failing = e.errors > 0;
      const group = svg("g", { class: "edge-group", "data-client": e.client, "data-server": e.server, "data-requests": e.requests,
        "data-errors": e.errors });
      group.append(svg("path", {
        class: failing ? "edge failing" : "edge", d: `M${p0} C${p1} ${p2} ${p3}`,
        "marker-end": failing ? "url(#service-arrow-failing)" : "url(#service-arrow)",
      }, svg("title", {}, `${e.client} → ${e.server}: ${e.requests} calls, ${percent(e.error_rate)} errors, p95 ${duration(e.p95_ms)}`)));
      edgeLayer.append(group);
      const mid = [0, 1].map((i) => (p0[i] + 3 * p1[i] + 3 * p2[i] + p3[i]) / 8);
      const text = `${rate(e.rate_per_minute)} · ${percent(e.error_rate)} · p95 ${duration(e.p95_ms)}`;
      const labelWidth = text.length * 6.2;
      labelLayer.append(svg("g", { class: "edge-label-group", "data-client": e.client, "data-server": e.server },
        svg("rect", { class: "edge-label-bg", x: mid[0] - labelWidth / 2, y: mid[1] - 16, width: labelWidth, height: 14, rx: 3 }),
        svg("text", { class: "edge-label", x: mid[0], y: mid[1] - 5, "text-anchor": "middle" }, text)));
    }
    root.append(edgeLayer, labelLayer);

    for (const n of graph.nodes) {
      const at = position.get(n.service);
      const link = tracesLink(n.service);
      const group = svg("g", {
        class: n.errors > 0 ? "node failing" : "node", tabindex: 0, role: "link", "data-service": n.service, "data-href": link,
        "data-requests": n.requests, "aria-label": `${n.service}: open its traces`,
      });
      group.append(
        svg("title", {}, `${n.service}: ${n.requests} requests (${n.root_requests} from outside), ${percent(n.error_rate)} errors, p95 ${duration(n.p95_ms)}`),
        svg("rect", { x: at.x, y: at.y, width: nodeWidth, height: NODE_HEIGHT, rx: 6 }),
        svg("text", { class: "node-name", x: at.x + 8, y: at.y + 18 }, fit(n.service, nodeWidth - 16)),
        svg("text", { class: "node-stats", x: at.x + 8, y: at.y + 33 }, fit(`${rate(n.rate_per_minute)} · ${percent(n.error_rate)} err`, nodeWidth - 16)),
        svg("text", { class: "node-stats", x: at.x + 8, y: at.y + 47 }, `p95 ${duration(n.p95_ms)}`));
      group.addEventListener("click", () => location.assign(link));
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          location.assign(link);
        }
      });
      root.append(group);
    }
    container.append(root);
  }

  function renderTables() {
    const nodes = clear(document.querySelector("#node-table tbody"));
    for (const n of graph.nodes) {
      nodes.append(el("tr", { "data-service": n.service },
        el("td", { class: "wrap" }, el("a", { href: tracesLink(n.service) }, n.service)),
        el("td", { class: "num" }, String(n.requests)), el("td", { class: "num" }, String(n.root_requests)),
        el("td", { class: "num" }, rate(n.rate_per_minute)), el("td", { class: "num" }, percent(n.error_rate)),
        el("td", { class: "num" }, duration(n.p95_ms))));
    }
    if (graph.nodes.length === 0) nodes.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No calls in this window.")));
    labelColumns(document.getElementById("node-table"));
    const edges = clear(document.querySelector("#edge-table tbody"));
    for (const e of graph.edges) {
      edges.append(el("tr", { "data-client": e.client, "data-server": e.server },
        el("td", { class: "wrap" }, e.client), el("td", { class: "wrap" }, e.server), el("td", { class: "num" }, String(e.requests)),
        el("td", { class: "num" }, rate(e.rate_per_minute)), el("td", { class: "num" }, percent(e.error_rate)),
        el("td", { class: "num" }, duration(e.p95_ms))));
    }
    if (graph.edges.length === 0) edges.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No calls between services in this window.")));
    labelColumns(document.getElementById("edge-table"));
  }

  async function load() {
    const status = document.getElementById("services-status");
    showStatus(status, "Loading…");
    try {
      graph = await api("/services/graph" + query({ hours: hours() }));
      draw();
      renderTables();
      showStatus(status, "");
      document.body.dataset.loaded = "yes";
    } catch (error) {
      showStatus(status, "Could not load the service map: " + error.message, true);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    form = document.getElementById("service-filters");
    readFilters(form);
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("change", () => {
      const value = formValues(form).hours;
      writeAddress({ hours: value === "1" ? "" : value }, true);
      load();
    });
    window.addEventListener("popstate", () => {
      readFilters(form);
      load();
    });
    // Redrawn at the map's new width (a change of height alone leaves it).
    let resizing = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => {
        const width = document.getElementById("service-map").clientWidth;
        if (width !== drawnWidth) draw();
      }, 150);
    });
    load();
  });
})();

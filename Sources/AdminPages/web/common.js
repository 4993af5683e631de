// Shared by every admin page: API calls with the API key, the key prompt, building elements
// (data always as text, never as HTML), formatting, and filters kept in the address bar.
"use strict";

const Sightline = (() => {
  const API = "/api/observability";
  const KEY_ITEM = "sightline.apiKey";

  class APIError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // --- elements ---------------------------------------------------------------------------
  // el("a", {href: "/x", class: "y", onclick: f}, "text", child, ...): attributes are set with
  // setAttribute (or as listeners for on*), children are nodes or text. Never parses HTML.
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
      else if (value === true) node.setAttribute(name, "");
      else node.setAttribute(name, String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Gives every cell of a table's body its column's heading as `data-label` (shown beside the
  // value when narrow windows lay rows out as blocks). Cells spanning columns are left alone.
  function labelColumns(table) {
    const headings = [...table.tHead.rows[0].cells].map((cell) => cell.textContent.trim());
    for (const row of table.tBodies[0].rows) {
      if (row.dataset.labelled) continue;
      row.dataset.labelled = "yes";
      [...row.cells].forEach((cell, index) => {
        if (cell.colSpan === 1 && headings[index] && headings[index] !== "Details") cell.dataset.label = headings[index];
      });
    }
    return table;
  }

  function clear(node) {
    node.replaceChildren();
    return node;
  }

  // --- the API key --------------------------------------------------------------------------
  function apiKey() {
    try {
      return sessionStorage.getItem(KEY_ITEM) || "";
    } catch {
      return "";
    }
  }

  function setAPIKey(key) {
    try {
      if (key) sessionStorage.setItem(KEY_ITEM, key);
      else sessionStorage.removeItem(KEY_ITEM);
    } catch {
      // Storage refused (private mode): the key lasts as long as the page.
    }
    renderKeyStatus();
  }

  let waitingForKey = null; // {promise, resolve} while the prompt is open

  // Shows the prompt and resolves once the user has entered a key.
  function askForKey(reason) {
    const prompt = document.getElementById("key-prompt");
    const message = document.getElementById("key-message");
    message.textContent = reason;
    prompt.hidden = false;
    document.getElementById("key-input").focus();
    if (!waitingForKey) {
      let resolve;
      const promise = new Promise((r) => (resolve = r));
      waitingForKey = { promise, resolve };
    }
    return waitingForKey.promise;
  }

  function buildKeyPrompt() {
    const header = document.querySelector("header.top");
    if (!header) return;
    const input = el("input", { id: "key-input", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
    const form = el("form", { id: "key-form", class: "key-form" },
      el("p", { id: "key-message", role: "alert" }),
      el("label", { for: "key-input" }, "API key"),
      input,
      el("button", { type: "submit" }, "Use key"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      setAPIKey(key);
      input.value = "";
      document.getElementById("key-prompt").hidden = true;
      const waiting = waitingForKey;
      waitingForKey = null;
      if (waiting) waiting.resolve(key);
    });
    const prompt = el("section", { id: "key-prompt", class: "key-prompt", hidden: true, "aria-label": "API key" }, form);
    header.after(prompt);
    header.append(el("div", { id: "key-status", class: "key-status" }));
    renderKeyStatus();
  }

  function renderKeyStatus() {
    const status = document.getElementById("key-status");
    if (!status) return;
    clear(status);
    if (apiKey()) {
      status.append(el("span", {}, "API key set"), " ",
        el("button", { type: "button", class: "link-button", onclick: () => setAPIKey("") }, "Forget key"));
    }
  }

  // --- API calls ------------------------------------------------------------------------------
  // GET/POST/PUT/DELETE under /api/observability (or `options.root`, such as "" for Tempo's
  // /api/search); the parsed JSON body, or an APIError with the API's message. A 401 opens the
  // key prompt and retries with the key typed in.
  async function api(path, options = {}) {
    for (;;) {
      const headers = { Accept: "application/json" };
      const key = apiKey();
      if (key) headers.Authorization = "Bearer " + key;
      const init = { method: options.method || "GET", headers, cache: "no-store" };
      if (options.body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(options.body);
      }
      let response;
      try {
        response = await fetch((options.root === undefined ? API : options.root) + path, init);
      } catch (error) {
        throw new APIError(0, "Sightline did not answer (" + error.message + ")");
      }
      const text = await response.text();
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      if (response.status === 401) {
        await askForKey(key ? "That API key was refused. Enter another." : "This Sightline requires an API key.");
        continue;
      }
      if (!response.ok) {
        const message = body && typeof body.error === "string" ? body.error : response.status + " " + response.statusText;
        throw new APIError(response.status, message);
      }
      return body;
    }
  }

  // Query string from an object, leaving out empty values.
  function query(parameters) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(parameters)) {
      if (value !== undefined && value !== null && String(value) !== "") search.set(name, String(value));
    }
    const text = search.toString();
    return text ? "?" + text : "";
  }

  // The log stream's WebSocket: the key travels as a subprotocol (browsers cannot send headers).
  function openLogStream(parameters) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = scheme + "//" + location.host + API + "/logs/stream" + query(parameters);
    const key = apiKey();
    return key ? new WebSocket(url, ["sightline", "sightline.key." + base64url(key)]) : new WebSocket(url);
  }

  function base64url(text) {
    let binary = "";
    for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Whether the stream was refused for its key: a WebSocket only says it closed, so ask the API.
  async function checkKey() {
    await api("/traces/stats/summary?hours=1");
  }

  // --- filters in the address bar -------------------------------------------------------------
  // Fills a form's fields from the query string (deep links), the others with their defaults.
  function readFilters(form) {
    const search = new URLSearchParams(location.search);
    for (const field of form.elements) {
      if (!field.name) continue;
      if (field.type === "checkbox") {
        field.checked = search.has(field.name) ? search.get(field.name) === "true" : field.defaultChecked;
      } else if (search.has(field.name)) {
        field.value = search.get(field.name);
      } else if (field.tagName === "SELECT") {
        const initial = [...field.options].find((option) => option.defaultSelected) || field.options[0];
        field.value = initial ? initial.value : "";
      } else {
        field.value = field.defaultValue;
      }
    }
  }

  // The form's non-empty fields, as an object.
  function formValues(form) {
    const values = {};
    for (const field of form.elements) {
      if (!field.name || field.disabled) continue;
      if (field.type === "checkbox") values[field.name] = field.checked;
      else if (field.value.trim() !== "") values[field.name] = field.value.trim();
    }
    return values;
  }

  function writeAddress(parameters, push) {
    const url = location.pathname + query(parameters);
    if (url === location.pathname + location.search) return;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }

  // --- formatting -----------------------------------------------------------------------------
  function duration(ms) {
    if (ms === null || ms === undefined || Number.isNaN(Number(ms))) return "–";
    ms = Number(ms);
    if (ms === 0) return "0 ms";
    if (ms < 1) return (ms * 1000).toFixed(0) + " µs";
    if (ms < 1000) return (ms < 10 ? ms.toFixed(2) : ms.toFixed(0)) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(2) + " s";
    return (ms / 60000).toFixed(1) + " min";
  }

  // Local date and time of day (to the millisecond) of an ISO 8601 timestamp.
  function timeParts(value) {
    const date = new Date(value);
    if (!value || Number.isNaN(date.getTime())) return ["", value ? String(value) : "–"];
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return [date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()),
      pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) + "." + pad(date.getMilliseconds(), 3)];
  }

  function time(value) {
    return timeParts(value).filter(Boolean).join(" ");
  }

  // A timestamp whose date is left out on narrow windows.
  function timeElement(value) {
    const [day, clock] = timeParts(value);
    return el("span", { class: "timestamp" }, day ? el("span", { class: "date" }, day + " ") : null, clock);
  }

  function number(value, digits = 2) {
    if (value === null || value === undefined || value === "") return "–";
    const n = Number(value);
    if (!Number.isFinite(n)) return String(value);
    return Number.isInteger(n) ? String(n) : n.toFixed(digits);
  }

  // An OTLP AnyValue ({"stringValue": "x"}, {"intValue": "3"}, arrays, maps) as plain text.
  function otlpValue(value) {
    if (value === null || value === undefined) return "";
    if (typeof value !== "object") return String(value);
    if ("stringValue" in value) return String(value.stringValue);
    if ("intValue" in value) return String(value.intValue);
    if ("doubleValue" in value) return String(value.doubleValue);
    if ("boolValue" in value) return String(value.boolValue);
    if ("bytesValue" in value) return String(value.bytesValue);
    if ("arrayValue" in value) return "[" + ((value.arrayValue && value.arrayValue.values) || []).map(otlpValue).join(", ") + "]";
    if ("kvlistValue" in value) {
      const pairs = (value.kvlistValue && value.kvlistValue.values) || [];
      return "{" + pairs.map((p) => p.key + ": " + otlpValue(p.value)).join(", ") + "}";
    }
    return JSON.stringify(value);
  }

  // Attributes as [key, text] pairs: an OTLP list [{key, value}] or a flat object.
  function attributePairs(attributes) {
    if (!attributes) return [];
    if (Array.isArray(attributes)) return attributes.map((a) => [String(a.key), otlpValue(a.value)]);
    if (typeof attributes === "object") {
      return Object.entries(attributes).map(([k, v]) => [k, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)]);
    }
    return [["value", String(attributes)]];
  }

  // A two-column list of attributes, or a note when there are none.
  function attributeList(attributes, empty = "none") {
    const pairs = attributePairs(attributes);
    if (pairs.length === 0) return el("p", { class: "muted" }, empty);
    return el("dl", { class: "attributes" }, pairs.map(([key, value]) => [el("dt", {}, key), el("dd", {}, value)]));
  }

  // A status line under a section: role=status for news, role=alert for failures.
  function showStatus(node, text, isError) {
    node.textContent = text || "";
    node.classList.toggle("error-text", Boolean(isError));
  }

  document.addEventListener("DOMContentLoaded", () => {
    buildKeyPrompt();
  });

  return {
    APIError, el, append, clear, labelColumns, api, query, apiKey, setAPIKey, askForKey, checkKey, openLogStream,
    readFilters, formValues, writeAddress, duration, time, timeElement, number, otlpValue, attributePairs,
    attributeList, showStatus,
  };
})();

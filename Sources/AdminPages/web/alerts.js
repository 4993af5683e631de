// /alerts: alert instances (acknowledge, resolve) and rules (enable, disable, create, edit,
// delete). The form sends what was typed; the API validates it and its message is shown.
"use strict";

(() => {
  const { el, clear, api, query, formValues, showStatus, time, number } = Sightline;
  const SYMBOLS = { gt: ">", gte: "≥", lt: "<", lte: "≤", eq: "=", neq: "≠" };
  const NUMBERS = ["threshold", "window_minutes", "evaluation_interval_seconds", "for_minutes", "cooldown_minutes", "repeat_interval_minutes"];
  const USER_ITEM = "sightline.user";
  const TEXTS = ["name", "description", "metric_type", "condition", "severity", "service_name", "operation_name", "custom_sql"];
  // Sent for `metric` rules only (the API refuses them on other types).
  const METRIC_FIELDS = ["metric_name", "metric_aggregation", "metric_attributes"];

  let editing = null; // the rule being edited, or null for a new one
  let rules = [];

  // --- instances ------------------------------------------------------------------------------
  async function loadInstances() {
    const status = document.getElementById("instances-status");
    const filters = formValues(document.getElementById("instance-filters"));
    let answer;
    try {
      answer = await api("/alerts/instances" + query(filters));
    } catch (error) {
      showStatus(status, "Could not load alert instances: " + error.message, true);
      return;
    }
    const instances = answer.instances || [];
    const body = clear(document.querySelector("#instance-table tbody"));
    for (const instance of instances) body.append(instanceRow(instance));
    Sightline.labelColumns(document.getElementById("instance-table"));
    const firing = instances.filter((i) => i.status === "firing").length;
    showStatus(status, instances.length === 0 ? "No alert instances in this range." : firing + " firing, " + instances.length + " in all.");
  }

  function instanceRow(instance) {
    const actions = el("div", { class: "actions" });
    if (instance.status === "firing" || instance.status === "pending") {
      actions.append(el("button", { type: "button", class: "small", onclick: () => act(instance, "acknowledge") }, "Acknowledge"));
    }
    if (instance.status !== "resolved") {
      actions.append(el("button", { type: "button", class: "small secondary", onclick: () => act(instance, "resolve") }, "Resolve"));
    }
    const acknowledged = instance.acknowledged_at
      ? el("div", { class: "muted" }, "acknowledged " + time(instance.acknowledged_at) + (instance.acknowledged_by ? " by " + instance.acknowledged_by : ""))
      : null;
    const resolved = instance.resolved_at ? el("div", { class: "muted" }, "resolved " + time(instance.resolved_at)) : null;
    return el("tr", { "data-instance-id": instance.id, "data-status": instance.status },
      el("td", { class: "wrap" }, instance.rule_name || instance.rule_id || "–"),
      el("td", {}, el("span", { class: "badge severity-" + (instance.severity || "info") }, instance.severity || "–")),
      el("td", {}, el("span", { class: "badge instance-status status-" + instance.status }, instance.status)),
      el("td", { class: "num" }, number(instance.metric_value)),
      el("td", { class: "num" }, number(instance.threshold_value)),
      el("td", { class: "nowrap" }, time(instance.fired_at || instance.triggered_at), acknowledged, resolved),
      el("td", { class: "wrap" }, instance.message || ""),
      el("td", {}, actions));
  }

  // Acknowledging names who did it (the API requires it): the "Acknowledge as" field.
  async function act(instance, action) {
    const status = document.getElementById("instances-status");
    const userField = document.getElementById("ack-user");
    const user = userField.value.trim();
    if (action === "acknowledge" && !user) {
      showStatus(status, "Enter who acknowledges in \"Acknowledge as\" first.", true);
      userField.focus();
      return;
    }
    try {
      localStorage.setItem(USER_ITEM, user);
    } catch {
      // Not kept: typed again next time.
    }
    try {
      await api("/alerts/instances/" + encodeURIComponent(instance.id) + "/" + action,
        { method: "POST", body: action === "acknowledge" ? { user } : {} });
    } catch (error) {
      showStatus(status, "Could not " + action + " the alert: " + error.message, true);
      return;
    }
    await loadInstances();
  }

  // --- rules ------------------------------------------------------------------------------------
  async function loadRules() {
    const status = document.getElementById("rules-status");
    let answer;
    try {
      answer = await api("/alerts/rules");
    } catch (error) {
      showStatus(status, "Could not load alert rules: " + error.message, true);
      return;
    }
    rules = answer.rules || [];
    const body = clear(document.querySelector("#rule-table tbody"));
    for (const rule of rules) body.append(ruleRow(rule));
    Sightline.labelColumns(document.getElementById("rule-table"));
    if (rules.length === 0) showStatus(status, "No rules yet.");
  }

  function ruleRow(rule) {
    const watched = rule.metric_type === "metric" && rule.metric_name ? (rule.metric_aggregation || "avg") + "(" + rule.metric_name + ")" : null;
    const scope = [watched, rule.service_name, rule.operation_name].filter(Boolean).join(" / ");
    const toggle = el("button", { type: "button", class: "small secondary", onclick: () => setEnabled(rule, !rule.enabled) }, rule.enabled ? "Disable" : "Enable");
    const edit = el("button", { type: "button", class: "small secondary", onclick: () => openEditor(rule) }, "Edit");
    const remove = el("button", { type: "button", class: "small danger" }, "Delete");
    remove.addEventListener("click", () => {
      if (remove.dataset.confirm === "yes") deleteRule(rule);
      else {
        remove.dataset.confirm = "yes";
        remove.textContent = "Confirm delete";
      }
    });
    return el("tr", { "data-rule-id": rule.id, "data-enabled": rule.enabled ? "true" : "false" },
      el("td", { class: "wrap" }, el("strong", {}, rule.name), rule.description ? el("div", { class: "muted" }, rule.description) : null),
      el("td", {}, rule.metric_type, scope ? el("div", { class: "muted" }, scope) : null),
      el("td", { class: "nowrap" }, (SYMBOLS[rule.condition] || rule.condition) + " " + number(rule.threshold)),
      el("td", { class: "nowrap" }, rule.window_minutes + " min"),
      el("td", {}, el("span", { class: "badge severity-" + rule.severity }, rule.severity)),
      el("td", {}, (rule.notification_channels || []).join(", ") || "–"),
      el("td", { class: "num" }, number(rule.last_value), rule.last_error ? el("div", { class: "error-text" }, rule.last_error) : null),
      el("td", {}, el("span", { class: "badge rule-state " + (rule.enabled ? "status-completed" : "") }, rule.enabled ? "enabled" : "disabled")),
      el("td", {}, el("div", { class: "actions" }, toggle, edit, remove)));
  }

  async function setEnabled(rule, enabled) {
    const status = document.getElementById("rules-status");
    try {
      await api("/alerts/rules/" + encodeURIComponent(rule.id), { method: "PUT", body: { enabled } });
    } catch (error) {
      showStatus(status, "Could not " + (enabled ? "enable" : "disable") + " " + rule.name + ": " + error.message, true);
      return;
    }
    showStatus(status, rule.name + (enabled ? " enabled." : " disabled."));
    await loadRules();
  }

  async function deleteRule(rule) {
    const status = document.getElementById("rules-status");
    try {
      await api("/alerts/rules/" + encodeURIComponent(rule.id), { method: "DELETE" });
    } catch (error) {
      showStatus(status, "Could not delete " + rule.name + ": " + error.message, true);
      return;
    }
    showStatus(status, rule.name + " deleted.");
    await Promise.all([loadRules(), loadInstances()]);
  }

  // --- the form -------------------------------------------------------------------------------
  function openEditor(rule) {
    editing = rule;
    const form = document.getElementById("rule-form");
    form.reset();
    document.getElementById("rule-form-error").textContent = "";
    document.getElementById("rule-form-heading").textContent = rule ? "Edit rule: " + rule.name : "New rule";
    if (rule) {
      for (const name of [...TEXTS, ...NUMBERS]) {
        if (form.elements[name] && rule[name] !== undefined && rule[name] !== null) form.elements[name].value = String(rule[name]);
      }
      form.elements.enabled.checked = Boolean(rule.enabled);
      if (rule.metric_name) form.elements.metric_name.value = rule.metric_name;
      if (rule.metric_aggregation) form.elements.metric_aggregation.value = rule.metric_aggregation;
      const attributes = rule.metric_attributes && Object.keys(rule.metric_attributes).length ? JSON.stringify(rule.metric_attributes) : "";
      form.elements.metric_attributes.value = attributes;
    }
    const channels = rule ? rule.notification_channels || [] : ["slack"];
    for (const box of form.querySelectorAll('input[name="channel"]')) box.checked = channels.includes(box.value);
    document.getElementById("rule-editor").hidden = false;
    form.elements.name.focus();
  }

  function closeEditor() {
    editing = null;
    document.getElementById("rule-editor").hidden = true;
    document.getElementById("new-rule").focus();
  }

  // The typed values: numbers as numbers when they read as one (else as typed, for the API to
  // refuse), empty optional fields left out.
  function ruleBody(form) {
    const body = {};
    for (const name of TEXTS) {
      const value = form.elements[name].value.trim();
      if (value !== "") body[name] = value;
      else if (editing && editing[name]) body[name] = null; // cleared while editing
    }
    for (const name of NUMBERS) {
      const value = form.elements[name].value.trim();
      if (value === "") continue;
      body[name] = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value) ? Number(value) : value;
    }
    if (body.metric_type === "metric") {
      const name = form.elements.metric_name.value.trim();
      if (name !== "") body.metric_name = name;
      body.metric_aggregation = form.elements.metric_aggregation.value;
      // JSON when it reads as JSON; else as typed, for the API to refuse with its message.
      const attributes = form.elements.metric_attributes.value.trim();
      try {
        body.metric_attributes = attributes === "" ? {} : JSON.parse(attributes);
      } catch {
        body.metric_attributes = attributes;
      }
    }
    body.notification_channels = [...form.querySelectorAll('input[name="channel"]:checked')].map((box) => box.value);
    body.enabled = form.elements.enabled.checked;
    return body;
  }

  async function saveRule(event) {
    event.preventDefault();
    const form = event.target;
    const error = document.getElementById("rule-form-error");
    error.textContent = "";
    const save = document.getElementById("save-rule");
    save.disabled = true;
    try {
      if (editing) await api("/alerts/rules/" + encodeURIComponent(editing.id), { method: "PUT", body: ruleBody(form) });
      else await api("/alerts/rules", { method: "POST", body: ruleBody(form) });
    } catch (failure) {
      error.textContent = failure.status === 400 || failure.status === 422 ? failure.message : "Could not save the rule: " + failure.message;
      return;
    } finally {
      save.disabled = false;
    }
    const name = form.elements.name.value.trim();
    closeEditor();
    showStatus(document.getElementById("rules-status"), "Rule " + name + " saved.");
    await loadRules();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const filters = document.getElementById("instance-filters");
    Sightline.readFilters(filters);
    try {
      document.getElementById("ack-user").value = localStorage.getItem(USER_ITEM) || "";
    } catch {
      // No storage: the field starts empty.
    }
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      Sightline.writeAddress(formValues(filters), false);
      loadInstances();
    });
    filters.addEventListener("change", () => {
      Sightline.writeAddress(formValues(filters), false);
      loadInstances();
    });
    document.getElementById("new-rule").addEventListener("click", () => openEditor(null));
    document.getElementById("cancel-rule").addEventListener("click", closeEditor);
    document.getElementById("rule-form").addEventListener("submit", saveRule);
    loadInstances();
    loadRules();
  });
})();

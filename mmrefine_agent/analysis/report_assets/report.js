// Per-item table and trace drill-down for the self-contained MMRefine report.
// All model text is inserted with textContent, never as HTML.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("data").textContent);
  const byKey = new Map(DATA.items.map((item) => [item.key, item]));

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.appendChild(child);
    return node;
  }

  function scenarioSpan(code) {
    const name = DATA.names[code] || code || "not judged";
    return el("span", { class: "sc-" + code, text: code ? code + " " + name : name });
  }

  function renderRows(filter) {
    const body = document.querySelector("#items tbody");
    body.textContent = "";
    let shown = 0;
    const needle = (filter || "").toLowerCase();
    for (const item of DATA.items) {
      const haystack = [item.key, item.label, item.error_type, item.modality, item.scenario,
        DATA.names[item.scenario] || ""].join(" ").toLowerCase();
      if (needle && !haystack.includes(needle)) continue;
      shown += 1;
      const row = el("tr", { "data-key": item.key });
      row.appendChild(el("td", { text: item.key }));
      row.appendChild(el("td", { text: item.label || "" }));
      row.appendChild(el("td", { text: item.error_type || "-" }));
      row.appendChild(el("td", { text: item.modality || "" }));
      const scenario = el("td", {});
      scenario.appendChild(item.status === "ok" ? scenarioSpan(item.scenario) : el("span", { class: "problem", text: item.status }));
      row.appendChild(scenario);
      row.appendChild(el("td", { text: item.rounds.map((r) => r.round + ":" + r.scenario).join(" ") }));
      row.appendChild(el("td", { text: String(item.tokens) }));
      row.addEventListener("click", () => { location.hash = "item=" + encodeURIComponent(item.key); });
      body.appendChild(row);
    }
    document.getElementById("count").textContent = shown + " of " + DATA.items.length + " items";
  }

  function add(parent, child) {
    if (child) parent.appendChild(child);
  }

  function block(title, text) {
    if (text === null || text === undefined || text === "") return null;
    const wrap = el("div", {});
    wrap.appendChild(el("strong", { text: title }));
    wrap.appendChild(el("pre", { text: String(text) }));
    return wrap;
  }

  function renderTrace(item) {
    const trace = document.getElementById("trace");
    trace.textContent = "";
    trace.appendChild(el("h2", { text: "Trace " + item.key }));
    const close = el("a", { href: "#", text: "close" });
    trace.appendChild(close);
    const meta = [ "label " + item.label, "error type " + (item.error_type || "-"), "source " + item.source,
      "modality " + item.modality, "status " + item.status, "rounds " + item.n_rounds ].join(" | ");
    trace.appendChild(el("p", { class: "meta", text: meta }));
    const final = el("p", {});
    final.appendChild(el("strong", { text: "final scenario: " }));
    final.appendChild(scenarioSpan(item.scenario));
    trace.appendChild(final);
    for (const r of item.rounds) {
      const line = el("p", { class: "round-judgment" });
      line.appendChild(el("span", { text: "after round " + r.round + ": " }));
      line.appendChild(scenarioSpan(r.scenario));
      trace.appendChild(line);
    }
    if (item.error) trace.appendChild(el("p", { class: "problem", text: "error: " + item.error }));
    add(trace, block("Question", item.question));
    add(trace, block("Initial solution", item.initial_solution));
    add(trace, block("Reference feedback", item.reference_feedback));
    item.steps.forEach((step, index) => {
      const box = el("div", { class: "step" });
      box.appendChild(el("h4", { text: (index + 1) + ". round " + step.round + " - " + step.node }));
      if (!step.calls.length) box.appendChild(el("p", { class: "dim", text: "parse-only step: no model call" }));
      for (const call of step.calls) {
        for (const message of call.messages) {
          const suffix = message.images ? " [+" + message.images + " image(s)]" : "";
          add(box, block(message.role + suffix, message.text));
        }
        add(box, block("answer", call.answer));
        if (call.error) box.appendChild(el("p", { class: "problem", text: "call error: " + call.error }));
        box.appendChild(el("p", { class: "dim", text: "tokens " + call.tokens[0] + "/" + call.tokens[1] +
          "  latency " + call.latency_s + " s  cache " + (call.cache_hit ? "hit" : "miss") }));
      }
      add(box, block("parsed", JSON.stringify(step.parsed, null, 1)));
      for (const problem of step.parse_errors) box.appendChild(el("p", { class: "problem", text: "parse problem: " + problem }));
      for (const note of step.notes) box.appendChild(el("p", { class: "note", text: "note: " + note }));
      if (step.error) box.appendChild(el("p", { class: "problem", text: "step error: " + step.error }));
      trace.appendChild(box);
    });
    for (const r of item.rounds) {
      const box = el("div", { class: "judge-box" });
      box.appendChild(el("h4", { text: "judge, round " + r.round + ": " + (r.scenario || "") }));
      add(box, block("response the judge read", r.response));
      if (r.rule) box.appendChild(el("p", { class: "rule", text: "rule: " + r.rule }));
      if (r.error) box.appendChild(el("p", { class: "problem", text: "judge error: " + r.error }));
      for (const call of item.judge_calls.filter((c) => c.round === r.round)) {
        const head = call.call + (call.attempt > 1 ? " (attempt " + call.attempt + ")" : "");
        add(box, block(head + ": prompt", call.prompt));
        add(box, block(head + ": reply", call.reply));
        add(box, block(head + ": parsed", JSON.stringify(call.parsed)));
        if (call.error) box.appendChild(el("p", { class: "problem", text: "call error: " + call.error }));
      }
      trace.appendChild(box);
    }
    trace.hidden = false;
    trace.scrollIntoView();
  }

  function openFromHash() {
    const match = /^#item=(.*)$/.exec(location.hash);
    document.querySelectorAll("#items tr.selected").forEach((row) => row.classList.remove("selected"));
    const trace = document.getElementById("trace");
    if (!match) { trace.hidden = true; return; }
    const item = byKey.get(decodeURIComponent(match[1]));
    if (!item) { trace.hidden = true; return; }
    const row = document.querySelector('#items tr[data-key="' + CSS.escape(item.key) + '"]');
    if (row) row.classList.add("selected");
    renderTrace(item);
  }

  document.getElementById("filter").addEventListener("input", (event) => renderRows(event.target.value));
  window.addEventListener("hashchange", openFromHash);
  renderRows("");
  openFromHash();
})();

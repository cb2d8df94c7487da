// The item view of the MMRefine report: image, question, numbered solution, one panel per round.
// Traces are parsed from their own JSON block when an item is opened. Model text is inserted
// with textContent; math is rendered afterwards by KaTeX from those text nodes.
(function (root) {
  "use strict";
  let STRINGS = null, IMAGES = null;

  function json(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // paragraph ids -> text (see report_items.Strings)
  function T(ids) {
    if (ids === null || ids === undefined) return null;
    if (STRINGS === null) STRINGS = json("strings") || [];
    return ids.map((i) => STRINGS[i]).join("\n\n");
  }

  function imageUrl(sha) {
    if (IMAGES === null) IMAGES = json("images") || {};
    return IMAGES[sha] || null;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.appendChild(child);
    return node;
  }

  const MATH_DELIMITERS = [
    { left: "$$", right: "$$", display: true },
    { left: "\\[", right: "\\]", display: true },
    { left: "\\(", right: "\\)", display: false },
    { left: "$", right: "$", display: false },
    { left: "\\begin{align}", right: "\\end{align}", display: true },
    { left: "\\begin{align*}", right: "\\end{align*}", display: true },
    { left: "\\begin{equation}", right: "\\end{equation}", display: true },
    { left: "\\begin{equation*}", right: "\\end{equation*}", display: true },
    { left: "\\begin{aligned}", right: "\\end{aligned}", display: true },
    { left: "\\begin{cases}", right: "\\end{cases}", display: true },
  ];

  // Render the LaTeX in a subtree; what KaTeX cannot parse stays as the text it was.
  function math(node) {
    if (typeof root.renderMathInElement !== "function") return node;
    try {
      root.renderMathInElement(node, {
        delimiters: MATH_DELIMITERS, throwOnError: true, errorCallback: function () {},
        ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
        strict: "ignore", trust: false,
      });
    } catch (err) {
      node.setAttribute("data-math-error", String(err && err.message || err));
    }
    return node;
  }

  function textBlock(cls, text) {
    return el("div", { class: "mm-text " + cls, text: text });
  }

  function scenarioBadge(code, names) {
    const name = (names && names[code]) || code || "not judged";
    return el("span", { class: "badge sc-" + (code || "none"), text: code ? code + " " + name : name });
  }

  function fieldsTable(fields) {
    const keys = Object.keys(fields || {});
    if (!keys.length) return null;
    const body = el("tbody", {});
    for (const key of keys) {
      const value = fields[key];
      const shown = typeof value === "string" ? value : JSON.stringify(value);
      body.appendChild(el("tr", {}, el("th", { text: key }), el("td", { text: shown })));
    }
    return el("table", { class: "fields" }, body);
  }

  function stepList(steps, flagged, reference, numbered) {
    const list = el("div", { class: "steps" });
    for (const [number, ids] of steps) {
      const cls = ["sol-step"];
      if (number !== null && number === reference) cls.push("ref-wrong");
      if (number !== null && number === flagged) cls.push("flagged");
      const row = el("div", { class: cls.join(" "), "data-step": number === null ? "" : String(number) });
      row.appendChild(el("span", { class: "num", text: number === null ? "" : (numbered ? "" : "\u00b6") + number }));
      row.appendChild(math(textBlock("body", T(ids))));
      const tags = [];
      if (cls.includes("ref-wrong")) tags.push("reference: first wrong step");
      if (cls.includes("flagged")) tags.push("flagged by the model");
      if (tags.length) row.appendChild(el("span", { class: "mm-tag", text: tags.join(" | ") }));
      list.appendChild(row);
    }
    return list;
  }

  function collapsed(summary, content, open) {
    const box = el("details", open ? { open: "" } : {});
    box.appendChild(el("summary", { text: summary }));
    box.appendChild(content);
    return box;
  }

  // One tool run: what was called, what came back (an error in the problem style), its image.
  function toolRunView(run) {
    const box = el("div", { class: "tool-run" + (run.error ? " tool-failed" : "") });
    box.appendChild(el("div", { class: "label", text: "tool " + run.name + " [" + run.call_id + "]" +
      (run.error ? " failed" + (run.error_type ? " (" + run.error_type + ")" : "") : "") +
      "  " + run.elapsed_s + " s" }));
    box.appendChild(el("pre", { class: "tool-args", text: JSON.stringify(run.arguments) }));
    box.appendChild(el("pre", { class: run.error ? "tool-result problem" : "tool-result", text: T(run.result) || "" }));
    if (run.image) {
      const url = imageUrl(run.image);
      if (url) box.appendChild(el("img", { class: "tool-image", src: url, alt: "image returned by " + run.name }));
      else box.appendChild(el("p", { class: "dim", text: "image " + run.image.slice(0, 12) + " not found in the run directory" }));
    }
    return box;
  }

  function callView(call, index, count, runs) {
    const wrap = el("div", { class: "call" });
    const prompt = el("div", { class: "prompt" });
    let chars = 0;
    for (const message of call.messages) {
      const text = T(message.text) || "";
      chars += text.length;
      const images = message.images.length ? " + " + message.images.length + " image(s) " +
        message.images.map((h) => h.slice(0, 12)).join(", ") : "";
      const role = message.tool_call_id ? "tool " + (message.name || "?") + " [" + message.tool_call_id + "]" : message.role;
      const calls = (message.tool_calls || []).length ? " (calls " + message.tool_calls.join(", ") + ")" : "";
      prompt.appendChild(el("div", { class: "role", text: role + calls + images }));
      prompt.appendChild(el("pre", { text: text }));
    }
    const head = "prompt" + (count > 1 ? " (call " + (index + 1) + ")" : "") + ": " +
      call.messages.length + " message(s), " + chars.toLocaleString() + " characters";
    wrap.appendChild(collapsed(head, prompt, false));
    wrap.appendChild(el("div", { class: "label", text: "answer" }));
    wrap.appendChild(math(textBlock("answer", T(call.answer) || "")));
    for (const tc of call.tool_calls || []) {
      wrap.appendChild(el("p", { class: "tool-call", text: "tool call " + tc.name + " [" + tc.id + "] " +
        JSON.stringify(tc.arguments) + (tc.problem ? "  (" + tc.problem + ")" : "") }));
      const run = runs.get(tc.id);
      if (run) { wrap.appendChild(toolRunView(run)); runs.delete(tc.id); }
    }
    if (call.error) wrap.appendChild(el("p", { class: "problem", text: "call error: " + call.error }));
    wrap.appendChild(el("p", { class: "dim", text: (call.model ? call.model + "  " : "") + "tokens " +
      call.tokens[0] + " in / " + call.tokens[1] + " out  latency " + call.latency_s + " s  cache " +
      (call.cache_hit ? "hit" : "miss") + ((call.tools || []).length ? "  tools " + call.tools.join(", ") : "") }));
    return wrap;
  }

  function nodeView(step) {
    const box = el("div", { class: "step" + (step.parse_errors.length ? " parse-failed" : "") });
    box.appendChild(el("h4", { text: step.node }));
    const runs = new Map((step.tool_runs || []).map((run) => [run.call_id, run]));
    if (!step.calls.length && !runs.size) box.appendChild(el("p", { class: "dim", text: "parse-only step: no model call" }));
    step.calls.forEach((call, i) => box.appendChild(callView(call, i, step.calls.length, runs)));
    for (const run of runs.values()) box.appendChild(toolRunView(run));  // runs of no call here
    const fields = fieldsTable(step.parsed);
    if (fields) { box.appendChild(el("div", { class: "label", text: "parsed" })); box.appendChild(fields); }
    for (const problem of step.parse_errors) box.appendChild(el("p", { class: "problem", text: "parse problem: " + problem }));
    for (const note of step.notes) box.appendChild(el("p", { class: "note", text: "note: " + note }));
    if (step.error) box.appendChild(el("p", { class: "problem", text: "step error: " + step.error }));
    return box;
  }

  function judgeView(round, names) {
    const box = el("div", { class: "judge-box" });
    const j = round.judgment;
    const line = el("p", { class: "round-judgment" });
    line.appendChild(el("strong", { text: "judged after round " + round.round + ": " }));
    line.appendChild(scenarioBadge(j ? j.scenario : "", names));
    box.appendChild(line);
    if (j) {
      box.appendChild(el("p", { class: "mm-rule", text: "rule: " + j.rule }));
      if (j.error) box.appendChild(el("p", { class: "problem", text: "judge error: " + j.error }));
      const fields = fieldsTable(j.fields);
      if (fields) box.appendChild(collapsed("judgment fields (" + j.judge + (j.proxy ? ", proxy" : "") + ")", fields, false));
    }
    for (const call of round.judge_calls) {
      const head = "judge call " + call.call + (call.attempt > 1 ? " (attempt " + call.attempt + ")" : "");
      const content = el("div", {});
      const prompt = T(call.prompt);
      if (prompt) content.appendChild(collapsed("prompt", el("pre", { text: prompt }), false));
      const reply = T(call.reply);
      if (reply) { content.appendChild(el("div", { class: "label", text: "reply" })); content.appendChild(el("pre", { text: reply })); }
      content.appendChild(el("p", { class: "dim", text: "parsed: " + JSON.stringify(call.parsed) }));
      if (call.error) content.appendChild(el("p", { class: "problem", text: "call error: " + call.error }));
      box.appendChild(collapsed(head, content, false));
    }
    return box;
  }

  function roundView(round, trace, names) {
    const panel = el("section", { class: "round", "data-round": String(round.round) });
    const head = el("h3", { text: "Round " + round.round + " " });
    if (round.judgment) head.appendChild(scenarioBadge(round.judgment.scenario, names));
    panel.appendChild(head);
    const facts = ["verdict " + (round.verdict || "not parsed")];
    if (round.error_step !== null) facts.push("flagged step " + round.error_step);
    if (trace.reference_step !== null) facts.push("reference step " + trace.reference_step);
    if (round.final_answer !== null) facts.push("final answer " + round.final_answer);
    panel.appendChild(math(el("p", { class: "facts", text: facts.join(" | ") })));
    if (round.explanation) panel.appendChild(math(textBlock("explanation", T(round.explanation))));
    for (const problem of round.parse_errors) panel.appendChild(el("p", { class: "problem", text: "parse problem: " + problem }));
    if (round.reviewed_steps.length) {
      const steps = stepList(round.reviewed_steps, round.error_step, trace.reference_step, true);
      panel.appendChild(collapsed("the solution this round reviewed" +
        (round.error_step !== null ? " (flagged step " + round.error_step + " marked)" : ""), steps,
        round.error_step !== null));
    }
    const before = T(round.reviewed), after = T(round.corrected);
    if (after !== null && before !== null) {
      const changed = el("div", { class: "changed" });
      changed.appendChild(el("div", { class: "label", text: "what this round changed (reviewed \u2192 corrected)" }));
      changed.appendChild(root.MMDiff.renderDiff(before, after));
      panel.appendChild(changed);
    } else {
      panel.appendChild(el("p", { class: "dim", text: "no corrected solution this round" }));
    }
    const nodes = el("div", { class: "nodes" });
    round.nodes.forEach((step) => nodes.appendChild(nodeView(step)));
    panel.appendChild(nodes);
    panel.appendChild(judgeView(round, names));
    return panel;
  }

  function imageView(trace, facts, openImage) {
    if (!trace.image) return null;
    const url = imageUrl(trace.image);
    const info = facts[trace.image] || {};
    const figure = el("figure", { class: "item-image" });
    if (url) {
      const img = el("img", { src: url, alt: "the image the model received", title: "click to enlarge" });
      img.addEventListener("click", () => openImage(url));
      figure.appendChild(img);
    }
    let caption = "as sent to the model: " + (info.sent || "?") + "; sha256 " + String(info.sha256 || "").slice(0, 16);
    if (info.shown) caption += "; shown downscaled to " + info.shown;
    figure.appendChild(el("figcaption", { text: caption }));
    if (trace.image_not_seen) figure.appendChild(el("p", { class: "problem", text: "the model did not see this image (text-only backend)" }));
    return figure;
  }

  // Fill `container` with the view of item number `index` (row = its summary row).
  function renderTrace(container, index, row, data, openImage) {
    const trace = json("t-" + index);
    container.textContent = "";
    const top = el("div", { class: "trace-head" });
    top.appendChild(el("h2", { text: "Trace " + row.key }));
    top.appendChild(el("a", { href: "#", class: "close", text: "close" }));
    container.appendChild(top);
    const meta = ["label " + row.label, "error type " + (row.error_type || "-"), "source " + row.source,
      "modality " + row.modality, "status " + row.status, "rounds " + trace.rounds.length];
    container.appendChild(el("p", { class: "meta", text: meta.join(" | ") }));
    const final = el("p", { class: "final" });
    final.appendChild(el("strong", { text: "final scenario: " }));
    final.appendChild(scenarioBadge(row.scenario, data.names));
    if (trace.final_rule) final.appendChild(el("span", { class: "mm-rule", text: "  rule: " + trace.final_rule.rule }));
    container.appendChild(final);
    if (trace.error) container.appendChild(el("p", { class: "problem", text: "error: " + trace.error }));
    const image = imageView(trace, data.image_facts, openImage);
    const item = el("section", { class: image ? "item with-image" : "item" });
    if (image) item.appendChild(image);
    if (trace.question !== null) {
      item.appendChild(el("div", { class: "label", text: "Question" }));
      item.appendChild(math(textBlock("question", T(trace.question))));
    } else {
      item.appendChild(el("p", { class: "dim", text: "the dataset was not found: question and image unavailable" }));
    }
    if (trace.options.length) {
      const list = el("ol", { class: "options", type: "A" });
      for (const option of trace.options) list.appendChild(math(el("li", { text: option })));
      item.appendChild(list);
    }
    if (trace.gold) item.appendChild(math(el("p", { class: "gold", text: "gold answer: " + trace.gold })));
    container.appendChild(item);
    if (trace.solution.length) {
      container.appendChild(el("div", { class: "label", text: "Initial solution" + (trace.numbered ? "" :
        " (no step markers: paragraphs numbered \u00b61, \u00b62, ...)") }));
      container.appendChild(stepList(trace.solution, null, trace.reference_step, trace.numbered));
    }
    const feedback = T(trace.reference_feedback);
    if (feedback) {
      container.appendChild(el("div", { class: "label", text: "Reference feedback" +
        (trace.reference_step !== null ? " (names step " + trace.reference_step + ")" : "") }));
      container.appendChild(math(textBlock("feedback", feedback)));
    }
    trace.rounds.forEach((round) => container.appendChild(roundView(round, trace, data.names)));
    if (trace.other_steps.length) {
      const box = el("section", { class: "round" });
      box.appendChild(el("h3", { text: "Steps of an unfinished round" }));
      trace.other_steps.forEach((step) => box.appendChild(nodeView(step)));
      container.appendChild(box);
    }
  }

  root.MMTrace = { renderTrace: renderTrace, math: math };
})(window);

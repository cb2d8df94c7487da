// The failure gallery of the MMRefine report: facet filters with counts, the item table, the
// keyboard (j/k, right/left arrows), links to one item (#item=KEY) and the image lightbox.
// All model text is inserted with textContent, never as HTML.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("data").textContent);
  const ITEMS = DATA.items;
  const indexOf = new Map(ITEMS.map((item, i) => [item.key, i]));
  const active = { scenario: null, transition: null, parse: null };
  let shownRows = [], current = -1;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.appendChild(child);
    return node;
  }

  const FACETS = {
    scenario: (item) => [item.status === "ok" ? (item.scenario || "not judged") : item.status],
    transition: (item) => item.transitions,
    parse: (item) => item.parse_failed.length ? ["any node", ...item.parse_failed] : [],
  };
  const FACET_TITLES = { scenario: "final scenario", transition: "round to round", parse: "parse failure in node" };
  const ORDER = ["FD", "VS", "RF", "ED", "EC", "RS"];

  function matches(item, needle) {
    for (const [facet, value] of Object.entries(active)) {
      if (value !== null && !FACETS[facet](item).includes(value)) return false;
    }
    if (!needle) return true;
    const haystack = [item.key, item.label, item.error_type, item.source, item.modality, item.scenario,
      DATA.names[item.scenario] || "", item.rounds.join(" ")].join(" ").toLowerCase();
    return haystack.includes(needle);
  }

  function renderFacets() {
    const box = document.getElementById("facets");
    box.textContent = "";
    for (const facet of Object.keys(FACETS)) {
      const counts = new Map();
      for (const item of ITEMS) for (const value of FACETS[facet](item)) counts.set(value, (counts.get(value) || 0) + 1);
      const values = [...counts.keys()].sort((a, b) => {
        const ia = ORDER.indexOf(a), ib = ORDER.indexOf(b);
        if (facet === "scenario" && ia !== ib) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
        if (facet === "transition") {
          const sa = a.split("->"), sb = b.split("->");
          const changedA = sa[0] !== sa[1], changedB = sb[0] !== sb[1];
          if (changedA !== changedB) return changedA ? -1 : 1;
        }
        return counts.get(b) - counts.get(a) || (a < b ? -1 : 1);
      });
      const row = el("div", { class: "facet", "data-facet": facet });
      row.appendChild(el("span", { class: "facet-title", text: FACET_TITLES[facet] + ":" }));
      if (!values.length) row.appendChild(el("span", { class: "dim", text: facet === "transition" ? "single-round run" : "none" }));
      for (const value of values) {
        const code = value.split("->").pop();
        const chip = el("button", { type: "button", class: "chip sc-" + code + (active[facet] === value ? " on" : ""),
          "data-facet": facet, "data-value": value, title: DATA.names[value] || value });
        chip.appendChild(el("span", { class: "v", text: value }));
        chip.appendChild(el("span", { class: "n", text: String(counts.get(value)) }));
        chip.addEventListener("click", () => {
          active[facet] = active[facet] === value ? null : value;
          renderFacets();
          renderRows();
        });
        row.appendChild(chip);
      }
      box.appendChild(row);
    }
  }

  function renderRows() {
    const body = document.querySelector("#items tbody");
    const needle = document.getElementById("filter").value.toLowerCase();
    body.textContent = "";
    shownRows = [];
    const fragment = document.createDocumentFragment();
    ITEMS.forEach((item, index) => {
      if (!matches(item, needle)) return;
      shownRows.push(index);
      const row = el("tr", { "data-key": item.key, "data-index": String(index) });
      row.appendChild(el("td", { class: "key", text: item.key }));
      row.appendChild(el("td", { text: item.label === "incorrect" ? (item.error_type || "incorrect").replace(/ Error$/, "") : item.label }));
      row.appendChild(el("td", { text: item.modality }));
      const scenario = el("td", {});
      if (item.status === "ok") scenario.appendChild(el("span", { class: "sc-" + item.scenario, title: DATA.names[item.scenario] || "", text: item.scenario || "not judged" }));
      else scenario.appendChild(el("span", { class: "problem", text: item.status }));
      row.appendChild(scenario);
      row.appendChild(el("td", { class: "rounds", text: item.rounds.join(" ") }));
      row.appendChild(el("td", { text: String(item.tokens) }));
      if (index === current) row.classList.add("selected");
      fragment.appendChild(row);
    });
    body.appendChild(fragment);
    document.getElementById("count").textContent = shownRows.length + " of " + ITEMS.length + " items shown";
  }

  function openImage(url) {
    const box = document.getElementById("lightbox");
    box.querySelector("img").src = url;
    box.hidden = false;
  }

  function show(index) {
    const trace = document.getElementById("trace");
    document.querySelectorAll("#items tr.selected").forEach((row) => row.classList.remove("selected"));
    current = index;
    if (index < 0) { trace.hidden = true; return; }
    const row = document.querySelector('#items tr[data-index="' + index + '"]');
    if (row) { row.classList.add("selected"); row.scrollIntoView({ block: "nearest" }); }
    window.MMTrace.renderTrace(trace, index, ITEMS[index], DATA, openImage);
    trace.hidden = false;
    trace.scrollTop = 0;
    if (trace.getBoundingClientRect().top < 0 || trace.getBoundingClientRect().top > window.innerHeight) trace.scrollIntoView();
  }

  function openFromHash() {
    const match = /^#item=(.*)$/.exec(location.hash);
    const index = match ? indexOf.get(decodeURIComponent(match[1])) : undefined;
    show(index === undefined ? -1 : index);
  }

  function go(index) {
    location.hash = "item=" + encodeURIComponent(ITEMS[index].key);
  }

  function step(delta) {
    if (!shownRows.length) return;
    const at = shownRows.indexOf(current);
    const next = at < 0 ? (delta > 0 ? 0 : shownRows.length - 1) : Math.min(shownRows.length - 1, Math.max(0, at + delta));
    go(shownRows[next]);
  }

  document.querySelector("#items tbody").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-index]");
    if (row) go(Number(row.getAttribute("data-index")));
  });
  document.getElementById("filter").addEventListener("input", renderRows);
  document.getElementById("lightbox").addEventListener("click", (event) => { event.currentTarget.hidden = true; });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest && event.target.closest("input, textarea, select")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "j" || event.key === "ArrowRight") { step(1); event.preventDefault(); }
    else if (event.key === "k" || event.key === "ArrowLeft") { step(-1); event.preventDefault(); }
    else if (event.key === "Escape") {
      const box = document.getElementById("lightbox");
      if (!box.hidden) box.hidden = true; else if (current >= 0) location.hash = "";
    }
  });
  window.addEventListener("hashchange", openFromHash);
  renderFacets();
  renderRows();
  openFromHash();
})();

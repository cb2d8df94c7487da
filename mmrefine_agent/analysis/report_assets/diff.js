// Word-level diff for the MMRefine report: what a round changed in the solution it reviewed.
// A longest-common-subsequence diff over word and whitespace tokens, after trimming the common
// head and tail; output nodes are built with textContent only.
(function (root) {
  "use strict";
  const MAX_CELLS = 4000000; // beyond this the changed middle is shown as one deletion + insertion

  function tokens(text) {
    return (text || "").match(/\s+|[^\s]+/g) || [];
  }

  function push(ops, op, text) {
    const last = ops[ops.length - 1];
    if (last && last.op === op) last.text += text;
    else ops.push({ op: op, text: text });
  }

  // ops: [{op: "eq" | "del" | "ins", text}], in reading order
  function diffWords(before, after) {
    const a = tokens(before), b = tokens(after);
    let head = 0;
    while (head < a.length && head < b.length && a[head] === b[head]) head++;
    let tail = 0;
    while (tail < a.length - head && tail < b.length - head &&
           a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
    const ops = [];
    if (head) push(ops, "eq", a.slice(0, head).join(""));
    const x = a.slice(head, a.length - tail), y = b.slice(head, b.length - tail);
    const n = x.length, m = y.length;
    if (n && m && (n + 1) * (m + 1) <= MAX_CELLS) {
      // table[i][j] = LCS length of x[i:] and y[j:]
      const width = m + 1, table = new Uint32Array((n + 1) * width);
      for (let i = n - 1; i >= 0; i--) {
        for (let j = m - 1; j >= 0; j--) {
          table[i * width + j] = x[i] === y[j] ? table[(i + 1) * width + j + 1] + 1
            : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
        }
      }
      let i = 0, j = 0;
      while (i < n && j < m) {
        if (x[i] === y[j]) { push(ops, "eq", x[i]); i++; j++; }
        else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) { push(ops, "del", x[i]); i++; }
        else { push(ops, "ins", y[j]); j++; }
      }
      while (i < n) push(ops, "del", x[i++]);
      while (j < m) push(ops, "ins", y[j++]);
    } else {
      if (n) push(ops, "del", x.join(""));
      if (m) push(ops, "ins", y.join(""));
    }
    if (tail) push(ops, "eq", a.slice(a.length - tail).join(""));
    return ops;
  }

  function words(text) {
    return (text.match(/[^\s]+/g) || []).length;
  }

  // A <div class="diff"> with <del>/<ins> marks, and a summary of words removed and added.
  function renderDiff(before, after) {
    const ops = diffWords(before, after);
    const box = document.createElement("div");
    box.className = "diff";
    let added = 0, removed = 0;
    for (const part of ops) {
      const blank = !/\S/.test(part.text);
      if (part.op === "eq" || (blank && part.op === "ins")) {
        box.appendChild(document.createTextNode(part.text));
      } else if (!blank) {
        const mark = document.createElement(part.op === "ins" ? "ins" : "del");
        mark.textContent = part.text;
        box.appendChild(mark);
        if (part.op === "ins") added += words(part.text); else removed += words(part.text);
      }
    }
    const summary = document.createElement("p");
    summary.className = "dim diff-summary";
    summary.textContent = added || removed
      ? "-" + removed + " word(s), +" + added + " word(s)" : "no change in words";
    const wrap = document.createElement("div");
    wrap.appendChild(summary);
    wrap.appendChild(box);
    return wrap;
  }

  root.MMDiff = { diffWords: diffWords, renderDiff: renderDiff };
})(window);

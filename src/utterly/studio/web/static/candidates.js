// A run's candidates, on the FAQ editor (the generate dialog's results) and the history
// (the review): the run's notices, how each candidate is shown and sorted, what the
// filters refused, the import.
"use strict";

// A run's warning in the page's language, from its code and values (GenerateOut.notices):
// an option by its name in the dialog, a count by the sentences it is about.
function noticeText(notice) {
  const v = notice.values || {};
  const values = { ...paramsText(v), count: v.shown !== undefined ? v.shown : v.kept };
  return MESSAGES["notice." + notice.code] ? t("notice." + notice.code, values) : notice.code;
}

// The notices a summary does not already say (its own words tell a timeout, a cancel).
function noticesText(notices) {
  const rest = (notices || []).filter((n) => n.code !== "timed_out" && n.code !== "cancelled");
  return rest.length ? " · " + rest.map(noticeText).join(" · ") : "";
}

function candidateNote(c) {
  // A conflict risk is a warning, not a refusal: the person decides.
  return c.status === "present" ? t("gen.present")
    : c.status === "conflict" ? t("gen.conflict", { title: c.conflict_faq_title })
      : c.status === "not_from_run" ? t("gen.not_from_run")
        : c.conflict_risk ? t("gen.conflict_risk", { title: c.conflict_risk.faq_title }) : "";
}

// The similarity to the examples under which a candidate is not called faithful: the bulk
// job's auto-import default (GenerationJobIn.min_score), so that "safe" means here what it
// means for an import without review. The filters already dropped what fell under the
// embedder's drift threshold; on the labelled set (bench/fidelity.py, docs/quality.md) this
// cut keeps 88 % of the faithful kept candidates and leaves out 19 % of the others, where
// no cut separates them much better (the score says little more than "passed the filter").
const SAFE_SIMILARITY = 0.6;

// Safe to import without a second look: new, no conflict risk, and faithful, i.e. the
// meaning check ran on it (a candidate without a similarity score was never checked, the
// embedder having failed) and its similarity reaches SAFE_SIMILARITY. A transformed sentence
// carries the score of the model's sentence it came from: the transform only changes its
// spelling.
function isSafe(c) {
  const similarity = c.scores && c.scores.similarity;
  return c.status === "new" && !c.conflict_risk && typeof similarity === "number"
    && similarity >= SAFE_SIMILARITY;
}

const scoreFormat = new Intl.NumberFormat(document.documentElement.lang,
  { minimumFractionDigits: 2, maximumFractionDigits: 2 });

// What a reviewer weighs: the similarity to the examples, how the text was made (a
// transform of a model sentence, and which variations), and the note (conflict, present…).
function candidateTags(c) {
  const tags = h("span", { class: "tags" });
  const similarity = c.scores && c.scores.similarity;
  if (typeof similarity === "number") {
    tags.append(h("span", { class: "tag score" + (similarity >= SAFE_SIMILARITY ? "" : " low"),
      text: t("cand.similarity", { score: scoreFormat.format(similarity) }) }));
  } else {
    tags.append(h("span", { class: "tag score low", text: t("cand.unscored") }));
  }
  if (c.origin === "transformed") {
    tags.append(h("span", { class: "tag transformed",
      text: c.source_text ? t("cand.transformed_from", { text: c.source_text }) : t("cand.transformed") }));
  }
  for (const kind of c.variations || []) {
    // named as the option that asked for it
    tags.append(h("span", { class: "tag variation", "data-variation": kind, text: t("gen." + kind) }));
  }
  const note = candidateNote(c);
  if (note) tags.append(h("span", { class: "note", text: note }));
  return tags;
}

// Fill `list` with one checkbox per candidate; only the `new` ones can be checked. Returns
// how many can. Each item keeps its place in the run (data-order) for sorting back.
function renderCandidates(list, candidates, idPrefix) {
  list.replaceChildren();
  candidates.forEach((c, i) => {
    const id = `${idPrefix}-${i}`;
    const similarity = c.scores && c.scores.similarity;
    list.append(h("li", {
      class: "candidate " + c.status, "data-status": c.status, "data-order": i,
      "data-similarity": typeof similarity === "number" ? similarity : -1,
      "data-safe": isSafe(c) ? "true" : "false", "data-origin": c.origin || "model",
    },
    h("input", { type: "checkbox", id, value: c.text, disabled: c.status !== "new" }),
    h("label", { for: id, text: " " + c.text }),
    candidateTags(c)));
  });
  return candidates.filter((c) => c.status === "new").length;
}

// The tools above a candidate list (`prefix`-select-all, -select-safe, -sort), shared by
// the generate dialog and the review. `apply()` after each render: the chosen order stays.
function candidateTools(prefix, list) {
  const selectAll = $(`#${prefix}-select-all`);
  const sort = $(`#${prefix}-sort`);
  const safeCount = $(`#${prefix}-safe-count`);
  function order() {
    const key = sort.value === "score"
      ? (li) => -Number(li.dataset.similarity)
      : (li) => Number(li.dataset.order);
    const items = [...list.children].filter((li) => li.dataset.order !== undefined);
    // stable: equal scores stay in the order they were generated
    items.sort((a, b) => key(a) - key(b) || Number(a.dataset.order) - Number(b.dataset.order));
    list.append(...items);
  }
  function apply() {
    selectAll.checked = false;
    safeCount.textContent = "";
    order();
  }
  selectAll.addEventListener("change", () => {
    list.querySelectorAll("input:not(:disabled)").forEach((item) => { item.checked = selectAll.checked; });
  });
  $(`#${prefix}-select-safe`).addEventListener("click", () => {
    let count = 0;
    list.querySelectorAll("li.candidate").forEach((li) => {
      const box = li.querySelector("input");
      box.checked = !box.disabled && li.dataset.safe === "true";
      if (box.checked) count += 1;
    });
    selectAll.checked = false;
    // said inside the dialog: a toast would sit under the modal's backdrop
    safeCount.textContent = t("cand.safe_selected", { count });
  });
  sort.addEventListener("change", order);
  return { apply };
}

// A text refused again at a later attempt counts once, with its first reason.
function distinctRejected(rejected) {
  const seen = new Set();
  return rejected.filter((r) => {
    const key = (r.text || "").trim().toLowerCase();
    if (!key || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// What the filters refused, with why in plain words, in the `prefix` dialog's box; the
// reviewer may keep one anyway. Returns how many can be ticked.
function renderRejected(prefix, rejected) {
  const shown = distinctRejected(rejected);
  const box = $(`#${prefix}-rejected-box`);
  box.hidden = shown.length === 0;
  box.open = false;
  $(`#${prefix}-rejected-summary`).textContent = t("gen.rejected_title", { count: shown.length });
  $(`#${prefix}-rejected`).replaceChildren(...shown.map((r, i) => {
    const id = `${prefix}-rejected-${i}`;
    return h("li", { class: "candidate rejected", "data-reason": r.reason },
      h("input", { type: "checkbox", id, value: r.text }),
      h("label", { for: id, text: " " + r.text }),
      h("span", { class: "note", text: " (" + t("reason." + r.reason) + ")" }));
  }));
  return shown.length;
}

// A text the import refused (or found already present) can no longer be selected: show why.
function markCandidate(box, entry) {
  const status = entry.status === "already_present" ? "present" : entry.status;
  const item = box.closest("li");
  item.className = "candidate " + status;
  item.dataset.status = status;
  box.checked = false;
  box.disabled = true;
  item.dataset.safe = "false";
  const old = item.querySelector(".note");
  if (old) old.remove();
  const note = candidateNote({ status, conflict_faq_title: entry.conflict_faq_title });
  if (note) (item.querySelector(".tags") || item).append(h("span", { class: "note", text: note }));
}

// Import the checked candidates of `list` into the FAQ: the import's report, or null after
// showing why not in `error`. The import is all or nothing: when it is refused, the texts
// that stopped it are marked and unchecked, and Validate again imports the others.
async function importChecked(list, faqId, runId, error) {
  clearError(error);
  const boxes = [...list.querySelectorAll("input:checked")];
  if (!boxes.length) { showError(error, t("gen.nothing_selected")); return null; }
  try {
    return await api("POST", botPath(`/faqs/${faqId}/import`),
      { run_id: runId, texts: boxes.map((box) => box.value) });
  } catch (err) {
    const report = err.problem && err.problem.code === "import_refused" && err.problem.report;
    if (!Array.isArray(report)) { showError(error, err); return null; }
    let refused = 0;
    report.forEach((entry, i) => {
      if (entry.status === "would_import" || !boxes[i]) return;
      if (entry.status !== "already_present") refused += 1;
      markCandidate(boxes[i], entry);
    });
    showError(error, t("gen.refused", { count: refused }));
    return null;
  }
}

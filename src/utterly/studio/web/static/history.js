// The generation history: the runs with their cost and status, Undo of an import, the
// review of a held run's candidates (candidates.js) and a run's trace.
"use strict";

function pageHistory() {
  const tbody = $("#runs tbody");
  const filters = $("#run-filters");
  const when = new Intl.DateTimeFormat(document.documentElement.lang,
    { dateStyle: "short", timeStyle: "short" });
  const review = CAN_EDIT ? setupReviewDialog(when, (runId) => load(runId)) : null;
  const confirmUndo = CAN_EDIT ? setupUndoDialog() : null;
  const traceDialog = setupTraceDialog(when);

  function query() {
    const params = new URLSearchParams({ limit: 200 });
    for (const select of filters.querySelectorAll("select")) {
      if (select.value) params.set(select.name, select.value);
    }
    const job = jobFilter();
    if (job) params.set("job_id", job);
    return params;
  }

  async function undo(run) {
    if (!await confirmUndo(run)) return;
    try {
      const done = await api("DELETE", botPath(`/generation-runs/${run.id}/sentences`));
      toast(t("history.undone", { count: done.deleted }));
      load(run.id);
    } catch (err) { toast(problemText(err)); }
  }

  function actions(run) {
    // A run holds candidates for review until they are imported (a bulk job without
    // auto-import, or a dialog closed without Validate).
    // Its rejected candidates too: a run that kept nothing may hold one worth keeping.
    const reviewable = review && run.faq_id && run.status !== "failed"
      && (run.kept > run.imported || run.rejected_count > 0);
    const reviewButton = reviewable ? h("button", {
      type: "button", class: "link", text: t("history.review"),
      "aria-label": `${t("history.review")} #${run.id}`,
      "aria-haspopup": "dialog",
      onclick: () => review.open(run),
    }) : null;
    const undoButton = CAN_EDIT && run.imported > 0 ? h("button", {
      type: "button", class: "link danger", text: t("history.undo"),
      "aria-label": `${t("history.undo")} #${run.id}`, "aria-haspopup": "dialog",
      onclick: () => undo(run),
    }) : null;
    return h("td", { class: "actions" }, reviewButton, undoButton);
  }

  // The status on one line (a partial run says why it stopped); why a run failed below
  // it, in smaller type.
  function statusCell(run) {
    const status = run.status === "partial" && run.stopped ? "run.stopped." + run.stopped : "run.status." + run.status;
    const why = run.status === "failed" && run.error ? h("span", { class: "run-error", title: run.error.hint || "",
      text: problemText({ problem: { ...run.error, detail: run.error.message } }) }) : null;
    return cellOf("status", { class: "status" }, h("span", { class: "status-text" + (run.status === "failed" ? " error-text" : ""),
      "data-status": run.status, "data-stopped": run.stopped || "", text: t(status) }), why);
  }

  // The link to the trace on its host (Langfuse) only once the trace is known to be
  // there (`trace_export`); else whether it failed or is not confirmed yet.
  function traceCell(run) {
    // the run's own trace, kept by the Studio: there whether or not it was exported
    const details = h("button", {
      type: "button", class: "link", text: t("history.details"),
      "aria-label": `${t("history.details")} #${run.id}`, "aria-haspopup": "dialog",
      onclick: () => traceDialog.open(run),
    });
    let state = [];
    if (run.trace_export === "failed" || run.trace_export === "pending") {
      state = [" · ", h("span", { class: run.trace_export === "failed" ? "trace-state error-text" : "trace-state muted",
        text: t("history.trace_" + run.trace_export) })];
    } else if (run.trace_url && run.trace_export === "sent") {
      let host = "";
      try { host = new URL(run.trace_url).host; } catch (err) { host = ""; }
      state = [" · ", h("a", {
        href: run.trace_url, target: "_blank", rel: "noopener",
        text: host ? t("history.open_trace_on", { host }) : t("history.open_trace"),
      })];
    }
    return cellOf("trace", { class: "trace", "data-export": run.trace_export || "" }, details, ...state);
  }

  // A cell named by its column: under the cards' breakpoint (app.css) the name is shown
  // beside the value (one box), the table's header being hidden.
  function cellOf(column, attrs, ...children) {
    return h("td", { ...attrs, "data-label": t("history." + column) }, h("div", { class: "cell" }, ...children));
  }

  function row(run) {
    return h("tr", { "data-run-id": run.id },
      cellOf("when", { class: "when" }, when.format(new Date(run.created_at))),
      cellOf("who", {}, run.username || ""),
      cellOf("faq", { class: "faq" }, run.faq_id ? h("a", { href: `/bots/${BOT}/faqs/${run.faq_id}`, text: run.faq_title }) : ""),
      cellOf("model", { class: "model" }, `${run.provider} · ${run.model || ""}`),
      statusCell(run),
      cellOf("kept", { class: "num" }, `${run.kept} / ${run.rejected_count}`),
      cellOf("imported", { class: "num" }, String(run.imported)),
      cellOf("latency", { class: "num" }, run.latency_s === null ? "" : `${num(run.latency_s, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} s`),
      cellOf("tokens", { class: "num tokens" }, `${run.input_tokens} + ${run.output_tokens}`),
      cellOf("cost", { class: "num" }, costText(run, "—", 4)),
      traceCell(run),
      actions(run));
  }

  // focusRun: after a change made from a row, put the focus back on that row's first button
  // Filters changed quickly start loads that may answer out of order: only the latest
  // one may fill the table.
  let latest = 0;
  async function load(focusRun) {
    const params = query();
    const mine = ++latest;
    const page = await api("GET", botPath("/generation-runs?" + params));
    if (mine !== latest) return;
    tbody.replaceChildren(...page.items.map(row));
    if (!page.items.length) {
      const filtered = [...params.keys()].some((key) => key !== "limit");
      tbody.append(h("tr", {}, h("td", { colspan: 12, text: t(filtered ? "history.none_match" : "history.none") })));
    }
    $("#trace-note").hidden = !page.items.some((run) => run.trace_export === "failed");
    if (focusRun !== undefined) {
      const target = tbody.querySelector(`tr[data-run-id="${focusRun}"] button`);
      if (target) target.focus(); else $("#main").focus();
    }
  }
  filters.addEventListener("change", () => load().catch((err) => toast(problemText(err))));
  filters.addEventListener("submit", (event) => event.preventDefault());
  load().catch((err) => toast(problemText(err)));
}

// What a run cost, in US dollars; `unknown` when the model's price is not known. A model
// run on this machine or the bot's own Ollama server costs nothing (ProviderInfo.free):
// say so, where the provider's words say why, rather than "0.0000 $".
function costText(run, unknown, digits, most) {
  if (run.cost === null || run.cost === undefined) return unknown;
  if (run.cost === 0 && MESSAGES["cost.free." + run.provider]) return t("cost.free." + run.provider);
  return num(run.cost, { style: "currency", currency: "USD", minimumFractionDigits: digits,
    maximumFractionDigits: Math.max(digits, most || 0) });
}

// Undo asks first, in a dialog: resolves true when the person confirms. Closing it (Escape,
// Cancel) answers no; the focus goes back to the Undo button.
function setupUndoDialog() {
  const dialog = $("#undo-dialog");
  let answer = null;
  dialog.addEventListener("close", () => {
    if (answer) answer(dialog.returnValue === "yes");
    answer = null;
  });
  $("#undo-cancel").addEventListener("click", () => dialog.close("no"));
  $("#undo-confirm").addEventListener("click", () => dialog.close("yes"));
  return (run) => new Promise((resolve) => {
    $("#undo-title").textContent = t("history.undo_title", { id: run.id });
    $("#undo-text").textContent = t("history.undo_confirm",
      { count: run.imported, title: run.faq_title || "—" });
    dialog.returnValue = "";
    answer = resolve;
    dialog.showModal();
    $("#undo-cancel").focus();  // the safe answer is the default one
  });
}

// ?job=ID (a bulk job's link): only that job's runs.
function jobFilter() {
  const job = new URLSearchParams(location.search).get("job") || "";
  return /^[0-9]+$/.test(job) ? job : "";
}

// The history's Review dialog: a held run's candidates, with their statuses as of now (a
// sentence imported meanwhile from elsewhere is present, or conflicts), to select and import.
function setupReviewDialog(when, reload) {
  const dialog = $("#review-dialog");
  const list = $("#review-candidates");
  const error = $("#review-error");
  const selectAll = $("#review-select-all");
  const tools = candidateTools("review", list);
  const validateButton = $("#review-validate");
  let current = null;
  let opened = 0;

  async function open(summary) {
    const mine = ++opened;
    current = null;
    $("#review-title").textContent = t("review.title", { id: summary.id });
    $("#review-about").textContent = [t("review.faq", { title: summary.faq_title }),
      `${summary.provider} · ${summary.model || ""}`, when.format(new Date(summary.created_at)),
      summary.username].filter(Boolean).join(" · ");
    $("#review-summary").textContent = "";
    $("#review-nothing").hidden = true;
    $("#review-trace-box").open = false;
    $("#review-trace").replaceChildren();
    clearError(error);
    selectAll.checked = false;
    selectAll.disabled = validateButton.disabled = $("#review-select-safe").disabled = true;
    list.replaceChildren(h("li", { text: t("common.loading") }));
    dialog.showModal();
    let run;
    try {
      run = await api("GET", botPath(`/generation-runs/${summary.id}`));
    } catch (err) {
      if (mine !== opened) return;
      list.replaceChildren();
      showError(error, err);
      return;
    }
    if (mine !== opened || !dialog.open) return;  // closed, or another run opened since
    current = run;
    $("#review-summary").textContent = t("gen.results", { count: run.candidates.length })
      + (run.rejected.length ? " · " + t("gen.rejected", { count: distinctRejected(run.rejected).length }) : "")
      + " · " + t("review.imported", { count: run.imported })
      + (run.notices || []).map((n) => " · " + noticeText(n)).join("");
    renderTrace($("#review-trace"), run);
    const selectable = renderCandidates(list, run.candidates, "review-candidate");
    tools.apply();
    const keepable = renderRejected("review", run.rejected);
    // "nothing left" is about kept candidates; a run that kept none shows its rejected ones
    $("#review-nothing").hidden = selectable > 0 || run.candidates.length === 0;
    selectAll.disabled = $("#review-select-safe").disabled = selectable === 0;
    validateButton.disabled = selectable + keepable === 0;
    (selectable ? selectAll : keepable ? $("#review-rejected-summary") : $("#review-cancel")).focus();
  }

  async function validate() {
    if (!current) return;
    validateButton.disabled = true;  // one import at a time
    let report;
    try {
      report = await importChecked($("#review-choices"), current.faq_id, current.id, error);
    } finally {
      validateButton.disabled = false;
    }
    if (!report) return;
    dialog.close();
    toast(t("gen.imported", { count: report.imported }));
    await reload(current.id);
  }

  validateButton.addEventListener("click", validate);
  $("#review-cancel").addEventListener("click", () => dialog.close());
  return { open };
}

// ---- a run's trace: what was sent to the model and what it answered ---------------------

// Any member may read a run's trace (viewer and up): the history's Details dialog.
function setupTraceDialog(when) {
  const dialog = $("#trace-dialog");
  let opened = 0;

  async function open(summary) {
    const mine = ++opened;
    $("#trace-title").textContent = t("trace.title", { id: summary.id });
    $("#trace-about").textContent = [summary.faq_title, `${summary.provider} · ${summary.model || ""}`,
      when.format(new Date(summary.created_at)), summary.username].filter(Boolean).join(" · ");
    clearError($("#trace-error"));
    $("#trace-body").replaceChildren(h("p", { text: t("common.loading") }));
    dialog.showModal();
    try {
      const run = await api("GET", botPath(`/generation-runs/${summary.id}`));
      if (mine === opened) renderTrace($("#trace-body"), run);
    } catch (err) {
      if (mine !== opened) return;
      $("#trace-body").replaceChildren();
      showError($("#trace-error"), err);
    }
  }

  return { open };
}

function renderTrace(node, run) {
  const trace = run.trace;
  if (!trace) {
    node.replaceChildren(h("p", { text: t("trace.none") }));
    return;
  }
  const number = new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: 2 });
  const cost = costText(run, t("trace.cost_unknown"), 2, 6);
  const about = [t("trace.totals", {
    count: trace.calls.length, latency: number.format(run.latency_s || 0),
    input: run.input_tokens, output: run.output_tokens, cost,
  }), t("trace.limit", { seconds: number.format(trace.timeout_s) })];
  if (trace.stopped) about.push(t("trace.stopped." + trace.stopped));
  node.replaceChildren(h("p", { text: about.join(" ") }), ...traceExport(trace.export),
    ...trace.calls.map((call) => traceCall(call, number)), ...traceRejected(run.rejected));
}

function traceExport(exp) {
  if (!exp || !exp.configured) return [h("p", { class: "trace-export", text: t("trace.export_none") })];
  return exp.destinations.map((d) => h("p", {
    class: "trace-export" + (d.dropped ? " error-text" : ""),
    text: t(d.dropped ? "trace.export_dropped" : "trace.export_ok",
      { destination: t("trace.dest." + d.kind), count: d.dropped })
      + (d.dropped && d.last_failure ? " " + t("trace.export_last_failure", { reason: exportFailure(d) }) : ""),
  }));
}

// Why a destination last failed, from its code: the raw reason ("ConnectError") is English.
function exportFailure(d) {
  const key = "export_failure." + d.last_failure_code;
  if (d.last_failure_code && MESSAGES[key]) return t(key, paramsText(d.last_failure_params));
  return LANG === "en" ? d.last_failure : t("export_failure.other");
}

function traceCall(call, number) {
  const box = h("details", { class: "trace-call" }, h("summary", {
    text: t("trace.call", {
      attempt: call.attempt, kept: call.kept, rejected: call.rejected,
      latency: number.format(call.latency_s), input: call.input_tokens, output: call.output_tokens,
    }),
  }));
  if (call.error) {
    box.append(h("p", { class: "error-text",
      text: t("trace.error", { message: problemText({ problem: { ...call.error, detail: call.error.message } }) }) }));
  }
  call.prompts.forEach((messages) => {
    // a remote model is not sent the answer's start that only the local model continues
    const sent = !call.prefilled && messages.length && messages[messages.length - 1].role === "assistant"
      ? messages.slice(0, -1) : messages;
    const note = call.streams > 1 && call.prompts.length === 1 ? ` (${t("trace.prompt_streams", { count: call.streams })})` : "";
    box.append(h("h3", { text: t("trace.prompt") + note }),
      h("pre", { text: sent.map((m) => `### ${m.role}\n${m.content}`).join("\n\n") }));
  });
  (call.answers || []).forEach((answer) => {
    box.append(h("h3", { text: t("trace.answer") }), h("pre", { text: answer || t("trace.answer_empty") }));
  });
  if (call.parse_problems && call.parse_problems.length) {
    box.append(h("h3", { text: t("trace.problems") }),
      h("ul", {}, ...call.parse_problems.map((p, i) => h("li", { text: parseNote(p, (call.parse_notes || [])[i]) }))));
  }
  return box;
}

// How the model's answer was read, in the page's language: the English text is for runs
// stored before notes had a code.
function parseNote(english, note) {
  const key = note && "parse." + note.code;
  if (key && MESSAGES[key]) return t(key, { ...paramsText(note.values), count: note.values.count });
  return LANG === "en" ? english : t("trace.problem_unworded");
}

// Why the filters rejected a candidate, beyond its reason, in the page's language.
function rejectionDetail(r) {
  const key = "rejection." + r.code;
  if (r.code && MESSAGES[key]) return t(key, paramsText(r.params));
  return LANG === "en" ? r.detail || "" : "";
}

function traceRejected(rejected) {
  if (!rejected || !rejected.length) return [];
  return [h("h3", { text: t("gen.rejected_title", { count: rejected.length }) }),
    h("ul", { class: "trace-rejected" }, ...rejected.map((r) => h("li", { "data-reason": r.reason },
      h("span", { text: r.text || "∅" }), " — ",
      h("span", { class: "note", text: t("reason." + r.reason) + (rejectionDetail(r) ? ` (${rejectionDetail(r)})` : "") }))))];
}

PAGES.history = pageHistory;

// The FAQ editor's generate dialog: options, the streamed run with its progress and
// Cancel, then the candidates to import (candidates.js).
"use strict";

function setupGenerateDialog(currentSentences, reloadSentences, sentencesLoaded) {
  const dialog = $("#generate-dialog");
  const stopDialog = $("#gen-stop-dialog");
  const views = { options: $("#gen-options"), progress: $("#gen-progress"), results: $("#gen-results") };
  const runButton = $("#gen-run");
  let settings = null;
  let lastRun = null;
  const tools = candidateTools("gen", $("#gen-candidates"));

  function show(name) {
    for (const [key, node] of Object.entries(views)) node.hidden = key !== name;
  }

  function sources() {
    return [...document.querySelectorAll("#gen-sources input:checked")].map((n) => n.value);
  }

  async function open() {
    show("options");
    clearError($("#gen-options-error"));
    runButton.disabled = true;  // until this bot's settings say whether it may generate
    dialog.showModal();
    try {
      settings = await api("GET", botPath("/settings/sentence-generation"));
    } catch (err) {
      showError($("#gen-options-error"), err);
      return;
    }
    const warning = $("#gen-warning");
    if (settings.enabled) {
      const provider = t("settings.provider." + settings.provider);
      warning.textContent = (settings.model ? t("gen.warning", { provider, model: settings.model })
        : t("gen.warning_default", { provider })) + tracingNotice(settings.content_traced_to);
    } else if (ROLE === "admin") {
      // who may turn it on gets the way there
      warning.replaceChildren(t("gen.disabled_admin") + " ", h("a", {
        href: `/bots/${BOT}/settings/sentence-generation`, text: t("gen.enable_link") }));
    } else {
      warning.textContent = t("gen.disabled");
    }
    warning.classList.toggle("error-text", !settings.enabled);
    runButton.disabled = !settings.enabled;
    const temperature = $("#gen-temperature");
    temperature.value = settings.temperature;
    $("#gen-temperature-value").textContent = num(settings.temperature);
    $("#gen-n").value = settings.nb_sentences;
    showEstimate();
    warmUp();
    await sentencesLoaded.catch(() => {});  // its failure is shown on the page
    // Only human sentences are ticked: a generated one that drifted from the question
    // would breed more like it. The person may still tick a generated one.
    let ticked = 0;
    const shown = currentSentences().map((s, i) => {
      const id = `gen-source-${i}`;
      const checked = s.origin === "human" && ticked < 5;
      if (checked) ticked += 1;
      return h("li", { "data-origin": s.origin },
        h("input", { type: "checkbox", id, value: s.text, checked }),
        h("label", { for: id }, " " + s.text + " ",
          h("span", { class: "badge " + s.origin, text: t("faq." + s.origin) })));
    });
    $("#gen-sources").replaceChildren(...shown);
    $("#gen-sources-hint").hidden = !currentSentences().some((s) => s.origin !== "human");
  }

  // Where the prompt and the sentences also go when traces carry content: named, since
  // they leave for one more place than the provider.
  function tracingNotice(destinations) {
    if (!destinations || !destinations.length) return "";
    const names = destinations.map((d) => t("gen.traced_" + d.kind, { host: d.host }));
    return " " + t("gen.warning_tracing",
      { destinations: new Intl.ListFormat(LANG, { type: "conjunction" }).format(names) });
  }

  // How long to wait, before the click: this bot's recent runs per sentence asked, times
  // the number asked; before its first run, an estimate said as one (the model's measured
  // speed, or a default: `estimate.source`).
  function showEstimate() {
    if (!settings) return;
    const limit = settings.effective_timeout_s;
    const n = Number($("#gen-n").value) || settings.nb_sentences;
    const estimate = settings.estimate;
    const seconds = Math.max(1, Math.round(estimate.seconds_per_sentence * n));
    const key = { runs: "gen.estimate", model: "gen.estimate_model", default: "gen.estimate_default" }[estimate.source] || "gen.estimate";
    $("#gen-estimate").textContent = t(seconds > limit ? key + "_over" : key,
      { seconds, limit, per_sentence: num(estimate.seconds_per_sentence) });
  }

  // The embedded model reads the prompt while the user looks at the options: the click
  // then shows the first sentence sooner. Best effort: a failure here says nothing.
  let warmTimer = null;
  function warmUp() {
    clearTimeout(warmTimer);
    warmTimer = setTimeout(() => {
      if (!settings || !settings.enabled || !dialog.open) return;
      const data = payload();
      if (data.sentences.length === 0 || data.sentences.length > 5) return;
      request("POST", botPath(`/faqs/${FAQ}/generate/warm-up`), data).catch(() => {});
    }, 300);
  }

  function payload() {
    return {
      sentences: sources(),
      options: {
        spelling_mistakes: $("#opt-spelling").checked,
        sms_language: $("#opt-sms").checked,
        abbreviated_language: $("#opt-abbrev").checked,
      },
      temperature: Number($("#gen-temperature").value),
      n: Number($("#gen-n").value),
    };
  }

  // The generation on screen: its stream (for Cancel), its clock, what it rejected so far.
  let live = null;

  async function run() {
    const error = $("#gen-options-error");
    clearError(error);
    const data = payload();
    if (data.sentences.length === 0) return showError(error, t("gen.none_selected"));
    if (data.sentences.length > 5) return showError(error, t("gen.too_many"));
    show("progress");
    const started = Date.now();
    const tick = () => {
      $("#gen-elapsed").textContent = t("gen.elapsed", { seconds: Math.round((Date.now() - started) / 1000) });
    };
    live = { cancelUrl: null, cancelled: false, rejected: 0, clock: setInterval(tick, 1000),
      attempt: 1, kept: 0, requested: data.n };
    tick();
    $("#gen-live").replaceChildren();
    $("#gen-live-rejected").textContent = "";
    $("#gen-cancel").disabled = false;
    $("#gen-cancel").textContent = t("gen.cancel");
    $("#gen-progress-bar").value = 0;
    const working = () => t("gen.working",
      { attempt: live.attempt, kept: live.kept, requested: live.requested, count: live.kept });
    $("#gen-progress-text").textContent = working();
    try {
      const result = await streamGeneration(data, (event) => {
        // Its turn for the model (or a server thread) not come yet: say so, with its place
        // in the queue; when it comes, back to the attempt's progress.
        if (event.event === "waiting") {
          $("#gen-progress-text").textContent = t("gen.waiting." + event.reason, { place: event.place });
          return;
        }
        if (event.event === "rejected") {
          live.rejected += 1;
          $("#gen-live-rejected").textContent = "· " + t("gen.working_rejected", { count: live.rejected });
        }
        // never more than asked: a surplus sentence is rejected, not shown
        live.requested = event.requested || live.requested;
        live.attempt = event.attempt || live.attempt;
        if (event.kept !== undefined) live.kept = Math.min(event.kept, live.requested);
        $("#gen-progress-text").textContent = working();
        $("#gen-progress-bar").value = live.kept / live.requested;
        if (event.sentences) {
          $("#gen-live").replaceChildren(...event.sentences.slice(0, live.requested).map((s) => h("li", { text: s })));
        }
      });
      if (!result) {
        show("options");
        toast(t("gen.cancelled_waiting"));
        return;
      }
      showResults(result, live.cancelled);
      // stopped from the close question: the dialog is gone, the run is in the history
      if (!dialog.open) {
        const count = result.candidates.length;
        toast(count ? t("gen.stopped_closed", { count }) : t("gen.stopped_closed_none"));
      }
    } catch (err) {
      show("options");
      const p = err.problem || {};
      // the bot's own setting named in the page's language, not the API's English hint
      showError(error, p.code === "timeout" && p.timeout_s ? t("gen.timeout_error", { seconds: p.timeout_s }) : err);
    } finally {
      clearInterval(live.clock);
      live = null;
      if (stopDialog.open) stopDialog.close("keep");  // nothing left to stop
    }
  }

  // Stop the model; the stream then ends with the sentences kept so far (a partial run).
  // Clicked before the stream said where to send it, the cancel leaves when it does.
  function cancel() {
    if (!live || live.cancelled) return;
    live.cancelled = true;
    $("#gen-cancel").disabled = true;
    $("#gen-cancel").textContent = t("gen.cancelling");
    sendCancel();
  }

  function sendCancel() {
    if (live && live.cancelled && live.cancelUrl) request("POST", live.cancelUrl).catch(() => {});
  }

  async function streamGeneration(data, onProgress) {
    const response = await request("POST", botPath(`/faqs/${FAQ}/generate/stream`), data);
    if (!response.ok) {
      throw new ApiError(await response.json().catch(() => ({ detail: response.statusText, status: response.status })));
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const chunk = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const kind = (chunk.match(/^event: (.*)$/m) || [])[1];
        const json = (chunk.match(/^data: (.*)$/m) || [])[1];
        if (!kind || !json) continue;
        const event = JSON.parse(json);
        if (kind === "started") { live.cancelUrl = event.cancel_url; sendCancel(); }
        else if (kind === "progress") onProgress(event);
        else if (kind === "result") return event;
        else if (kind === "cancelled") return null;  // withdrawn before it started
        else if (kind === "error") throw new ApiError(event);
      }
    }
    throw new ApiError({ detail: t("error.network"), code: "network" });
  }

  function showResults(result, cancelled) {
    lastRun = result;
    show("results");
    clearError($("#gen-results-error"));
    const summary = result.stopped === "timeout"
      ? t("gen.timed_out", { count: result.candidates.length, seconds: result.timeout_s })
      : cancelled ? t("gen.cancelled", { count: result.candidates.length })
      : t("gen.results", { count: result.candidates.length });
    $("#gen-summary").textContent = summary + noticesText(result.notices);
    renderCandidates($("#gen-candidates"), result.candidates, "gen-candidate");
    tools.apply();
    renderRejected("gen", result.rejected);
  }

  async function validate() {
    const button = $("#gen-validate");
    button.disabled = true;  // one import at a time
    let report;
    try {
      report = await importChecked($("#gen-choices"), FAQ, lastRun.run_id, $("#gen-results-error"));
    } finally {
      button.disabled = false;
    }
    if (!report) return;
    dialog.close();
    toast(t("gen.imported", { count: report.imported }));
    await reloadSentences();
  }

  $("#open-generate").addEventListener("click", open);
  runButton.addEventListener("click", run);
  $("#gen-again").addEventListener("click", run);
  $("#gen-back").addEventListener("click", () => show("options"));
  $("#gen-validate").addEventListener("click", validate);
  $("#gen-cancel").addEventListener("click", cancel);
  // Closing the dialog while the model writes (Esc, ×) asks first: a slip of the hand must
  // not throw the run away. "Stop" stops the model and closes, the sentences kept by then
  // wait in the history; no run goes on out of sight.
  const running = () => live !== null && !live.cancelled;
  function askStop() {
    if (stopDialog.open) return;
    stopDialog.returnValue = "";
    stopDialog.showModal();
    $("#gen-stop-keep").focus();  // the safe answer is the default one
  }
  stopDialog.addEventListener("close", () => {
    if (stopDialog.returnValue !== "stop" || !running()) return;  // Esc too keeps it going
    cancel();
    dialog.close();
  });
  $("#gen-stop-keep").addEventListener("click", () => stopDialog.close("keep"));
  $("#gen-stop-confirm").addEventListener("click", () => stopDialog.close("stop"));
  dialog.addEventListener("cancel", (event) => {
    if (running()) { event.preventDefault(); askStop(); }
  });
  dialog.querySelector(".dialog-close button").addEventListener("click", (event) => {
    if (running()) { event.preventDefault(); askStop(); }
  });
  // A browser may let a page hold Esc back only once between two actions of the person
  // (HTML's close watchers): a close that got through anyway opens the dialog again, and asks.
  dialog.addEventListener("close", () => {
    if (running()) { dialog.showModal(); askStop(); }
  });
  $("#gen-temperature").addEventListener("input", (e) => { $("#gen-temperature-value").textContent = num(Number(e.target.value)); });
  $("#gen-sources").addEventListener("change", () => {
    const error = $("#gen-options-error");
    if (sources().length > 5) showError(error, t("gen.too_many")); else clearError(error);
  });
  // What changes the prompt: read it again.
  for (const id of ["#gen-sources", "#opt-spelling", "#opt-sms", "#opt-abbrev", "#gen-n"]) {
    $(id).addEventListener("change", warmUp);
  }
  $("#gen-n").addEventListener("input", showEstimate);
}

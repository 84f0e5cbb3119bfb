// Utterly Studio pages. Every read and write goes through the JSON API with the session
// cookie; writes echo the CSRF cookie in X-CSRF-Token. No framework, no CDN.
"use strict";

const MESSAGES = JSON.parse(document.getElementById("messages").textContent);
const body = document.body;
const BOT = body.dataset.botId;
const FAQ = body.dataset.faqId;
const ROLE = body.dataset.role;
const CAN_EDIT = ROLE === "admin" || ROLE === "bot_user";

const LANG = document.documentElement.lang || "en";
const PLURAL = new Intl.PluralRules(LANG);

// A key with a `<key>.one` form takes it when `count` is singular in the page's language
// (French: 0 and 1, "1 phrase"; English: 1), as i18n.text does on the server.
function t(key, values) {
  const count = values && values.count;
  const one = typeof count === "number" && PLURAL.select(count) === "one" && MESSAGES[key + ".one"];
  let text = one || MESSAGES[key] || key;
  for (const [name, value] of Object.entries(values || {})) {
    text = text.split("{" + name + "}").join(String(value));
  }
  return text;
}

// Numbers as the page's language writes them: "0,7" and "57 %" in French.
function num(value, options) {
  return new Intl.NumberFormat(LANG, options).format(value);
}

function percent(value, digits) {
  return num(value, { style: "percent", minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 });
}

function cookie(name) {
  const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "error");
    this.problem = problem;
  }
}

async function request(method, path, payload) {
  const headers = { Accept: "application/json" };
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = cookie("utterly_csrf");
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
  } catch (err) {
    throw new ApiError({ detail: t("error.network"), code: "network" });
  }
  if (response.status === 401 && body.dataset.page !== "login") {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
    throw new ApiError({ detail: "not authenticated", code: "not_authenticated" });
  }
  return response;
}

async function api(method, path, payload) {
  const response = await request(method, path, payload);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({ detail: response.statusText, status: response.status }));
  if (!response.ok) throw new ApiError(data);
  return data;
}

// A problem in the page's language. The server's English detail and hint are the most
// precise words (they name the address, the command to run): an English page shows them.
// Another language words it from the stable `code` (filled with the problem's own fields,
// e.g. `conflict_faq_title`, and its `params`); an invalid input from its `reason`
// (`invalid.<reason>`, naming the field by its label), else says only which field. It
// never shows the English: a code it does not know gets a general sentence.
function problemText(err) {
  const p = err.problem || { detail: String(err) };
  if (LANG === "en" && p.detail) return p.hint ? `${p.detail} — ${p.hint}` : p.detail;
  if (p.code === "network") return t("error.network");
  const values = { ...fieldsOf(p), ...paramsText(p.params), field: fieldLabel(p.field) };
  if (p.code === "invalid_input") {
    const reason = "invalid." + p.reason;
    return MESSAGES[reason] ? t(reason, values) : t(p.field ? "problem.invalid_input" : "problem.bad_request", values);
  }
  if (p.code === "all_items_failed" && p.first) {
    return t("problem.all_items_failed", { count: p.failed, faq: p.first.faq_title || "—", why: problemText({ problem: p.first }) });
  }
  const key = "problem." + p.code;
  return p.code && MESSAGES[key] ? t(key, values) : t("problem.unknown", { status: p.status || "—" });
}

// A field of a request by the label the page gives it ("n": "Number of sentences").
function fieldLabel(field) {
  const top = String(field || "").split(".")[0];
  return MESSAGES["field." + top] ? t("field." + top) : (field || "");
}

// The values of a problem, a rejection or an export failure as the page writes them:
// numbers in its format ("0,69"), a language code (`language`, `expected`) by the
// language's name, a provider by its label.
const LANGUAGE_NAMES = new Intl.DisplayNames([LANG], { type: "language" });
function paramsText(params) {
  const values = {};
  for (const [name, value] of Object.entries(params || {})) {
    if (typeof value === "number") values[name] = num(value);
    else if ((name === "language" || name === "expected") && typeof value === "string") {
      try { values[name] = LANGUAGE_NAMES.of(value); } catch (err) { values[name] = value; }
    } else if (name === "provider") values[name] = MESSAGES["settings.provider." + value] || value;
    else if (name === "variation") values[name] = MESSAGES["gen." + value] || value;
    else values[name] = value;
  }
  return values;
}

// Why the filters rejected a candidate, beyond its reason, in the page's language.
function rejectionDetail(r) {
  const key = "rejection." + r.code;
  if (r.code && MESSAGES[key]) return t(key, paramsText(r.params));
  return LANG === "en" ? r.detail || "" : "";
}

function fieldsOf(problem) {
  const values = {};
  for (const [name, value] of Object.entries(problem)) {
    if (typeof value === "string" || typeof value === "number") values[name] = value;
  }
  return values;
}

function showError(node, err, form) {
  if (!node) return;
  node.textContent = typeof err === "string" ? err : problemText(err);
  node.hidden = false;
  const field = err && err.problem && err.problem.field;
  if (form && field) {
    const input = form.querySelector(`[name="${field.split(".")[0]}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }
}

function clearError(node, form) {
  if (node) { node.hidden = true; node.textContent = ""; }
  if (form) form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
}

function toast(message) {
  const node = document.getElementById("toast");
  node.textContent = message;
  node.classList.add("shown");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => node.classList.remove("shown"), 4000);
}

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const $ = (selector) => document.querySelector(selector);
const botPath = (rest) => `/api/bots/${BOT}${rest || ""}`;

// ---- login and bots -------------------------------------------------------------------

function pageLogin() {
  const form = $("#login-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".form-error");
    clearError(error, form);
    try {
      await api("POST", "/api/auth/login",
        { username: form.username.value, password: form.password.value });
      location.href = form.dataset.next || "/";
    } catch (err) {
      showError(error, err);
    }
  });
}

function pageBots() {
  document.querySelectorAll("form.create-bot").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector(".form-error");
      clearError(error, form);
      try {
        const bot = await api("POST", "/api/bots", {
          namespace_id: Number(form.dataset.namespaceId), name: form.name.value,
          locales: form.locales.value.split(",").map((s) => s.trim()).filter(Boolean),
        });
        location.href = `/bots/${bot.id}/faqs`;
      } catch (err) {
        showError(error, err, form);
      }
    });
  });
}

// ---- FAQ list -------------------------------------------------------------------------

// A bot with no FAQ at all: say so, and how to add one (the form above, or a file).
function emptyBot() {
  return CAN_EDIT ? t("faqs.empty_edit", { field: t("faqs.new_title"), button: t("faqs.new") })
    : t("faqs.empty_view");
}

function pageFaqs() {
  const tbody = $("#faq-table tbody");
  const search = $("#faq-search");
  async function load() {
    const q = search.value.trim();
    const faqs = await api("GET", botPath("/faqs" + (q ? "?q=" + encodeURIComponent(q) : "")));
    tbody.replaceChildren();
    if (!faqs.length) tbody.append(h("tr", {}, h("td", { colspan: 5, text: q ? t("faqs.none") : emptyBot() })));
    for (const faq of faqs) {
      const row = h("tr", { "data-faq-id": faq.id },
        h("td", {}, h("a", { href: `/bots/${BOT}/faqs/${faq.id}`, text: faq.title })),
        h("td", { text: faq.locale }),
        h("td", { class: "num", text: faq.human_sentences }),
        h("td", { class: "num", text: faq.generated_sentences }));
      if (CAN_EDIT) {
        row.append(h("td", {}, h("button", {
          type: "button", class: "link danger", text: t("common.delete"),
          "aria-label": `${t("common.delete")} ${faq.title}`,
          onclick: async () => {
            if (!confirm(t("common.confirm_delete", { name: faq.title }))) return;
            try { await api("DELETE", botPath(`/faqs/${faq.id}`)); load(); }
            catch (err) { toast(problemText(err)); }
          },
        })));
      }
      tbody.append(row);
    }
  }
  let timer;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 200); });
  const form = $("#new-faq");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector(".form-error");
      clearError(error, form);
      try {
        const faq = await api("POST", botPath("/faqs"), { title: form.title.value });
        location.href = `/bots/${BOT}/faqs/${faq.id}`;
      } catch (err) {
        showError(error, err, form);
      }
    });
  }
  load().catch((err) => toast(problemText(err)));
  setupBulkJobs();
}

// ---- FAQ editor -----------------------------------------------------------------------

function pageFaq() {
  const form = $("#faq-form");
  const list = $("#sentences");
  const faqError = $("#faq-error");
  let sentences = [];
  let doomed = null;  // {sentence, timer}: deleted on screen, not yet on the server
  const UNDO_MS = 10000;
  let dirty = false;

  function setupTabs() {
    const tabs = [...document.querySelectorAll('[role="tab"]')];
    function select(tab) {
      for (const other of tabs) {
        const on = other === tab;
        other.setAttribute("aria-selected", on);
        other.tabIndex = on ? 0 : -1;
        document.getElementById(other.getAttribute("aria-controls")).hidden = !on;
      }
      tab.focus();
    }
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (event) => {
        if (event.key === "ArrowRight") select(tabs[(i + 1) % tabs.length]);
        if (event.key === "ArrowLeft") select(tabs[(i - 1 + tabs.length) % tabs.length]);
      });
    });
  }

  async function loadFaq() {
    const faq = await api("GET", botPath(`/faqs/${FAQ}`));
    form.title.value = faq.title;
    form.answer.value = faq.answer;
    form.description.value = faq.description;
    dirty = false;
  }

  async function loadSentences() {
    const page = await api("GET", botPath(`/faqs/${FAQ}/sentences?limit=1000`));
    sentences = page.items;
    renderSentences();
  }

  // the sentences on screen: all but the one whose deletion may still be undone
  const shownSentences = () => sentences.filter((s) => !doomed || s.id !== doomed.sentence.id);

  function renderSentences() {
    const shown = shownSentences();
    list.replaceChildren();
    $("#no-sentences").hidden = shown.length > 0;
    for (const s of shown) {
      const item = h("li", { "data-origin": s.origin, "data-sentence-id": s.id },
        h("span", { class: "text", text: s.text }),
        h("span", { class: "badge " + s.origin, text: t("faq." + s.origin) }));
      if (CAN_EDIT) {
        item.append(h("button", {
          type: "button", class: "link danger", text: "×",
          "aria-label": t("faq.delete_sentence", { text: s.text }),
          onclick: () => deleteSentence(s),
        }));
      }
      list.append(item);
    }
  }

  // × takes the sentence off the list and offers Undo for a while; only then is it deleted
  // (at once when the page is left, or another sentence is deleted or added). Undo thus
  // gives back the very sentence, its origin and run with it: a misclick loses nothing.
  function deleteSentence(s) {
    commitDelete();
    doomed = { sentence: s, timer: setTimeout(commitDelete, UNDO_MS) };
    renderSentences();
    const undo = h("button", { type: "button", class: "link", text: t("faq.undo_delete"),
      onclick: undoDelete });
    $("#sentence-undo").replaceChildren(t("faq.deleted", { text: s.text }) + " ", undo);
    undo.focus();  // the × it replaces is gone
  }

  function undoDelete() {
    if (!doomed) return;
    const { sentence, timer } = doomed;
    clearTimeout(timer);
    doomed = null;
    $("#sentence-undo").replaceChildren();
    renderSentences();
    const back = list.querySelector(`li[data-sentence-id="${sentence.id}"] button`);
    if (back) back.focus();
  }

  // Send the deletion Undo no longer takes back. `leaving`: the page is being left, the
  // request must outlive it.
  async function commitDelete(leaving) {
    if (!doomed) return;
    const { sentence, timer } = doomed;
    clearTimeout(timer);
    doomed = null;
    sentences = sentences.filter((s) => s.id !== sentence.id);  // a failure reloads it
    const notice = $("#sentence-undo");
    const focused = notice.contains(document.activeElement);
    notice.replaceChildren();
    const path = botPath(`/faqs/${FAQ}/sentences/${sentence.id}`);
    if (leaving === true) {
      fetch(path, { method: "DELETE", keepalive: true, credentials: "same-origin",
        headers: { "X-CSRF-Token": cookie("utterly_csrf") } }).catch(() => {});
      return;
    }
    if (focused) $("#new-sentence").focus();
    try {
      await api("DELETE", path);
    } catch (err) {
      // gone already (deleted elsewhere) is what was asked; anything else brings it back
      if (!err.problem || err.problem.status !== 404) showError($("#sentence-error"), err);
    }
    await loadSentences();
  }

  async function addSentence() {
    const input = $("#new-sentence");
    const error = $("#sentence-error");
    clearError(error);
    if (!input.value.trim()) return;
    await commitDelete();  // the text may be the one being deleted
    try {
      await api("POST", botPath(`/faqs/${FAQ}/sentences`), { text: input.value });
      input.value = "";
      await loadSentences();
      input.focus();
    } catch (err) {
      showError(error, err);
    }
  }

  setupTabs();
  // The sentence box is not part of SAVE: + stores its sentence at once.
  form.addEventListener("input", (event) => { if (event.target.id !== "new-sentence") dirty = true; });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) { event.preventDefault(); event.returnValue = t("common.unsaved"); }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(faqError, form);
    try {
      await api("PATCH", botPath(`/faqs/${FAQ}`), {
        title: form.title.value, answer: form.answer.value, description: form.description.value,
      });
      dirty = false;
      $("#faq-heading").textContent = form.title.value;
      toast(t("common.saved"));
    } catch (err) {
      showError(faqError, err, form);
    }
  });
  // the dialog lists the sentences as sources: it waits for them when opened early
  const sentencesLoaded = loadSentences();
  if (CAN_EDIT) {
    $("#add-sentence").addEventListener("click", addSentence);
    $("#new-sentence").addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); addSentence(); }
    });
    setupGenerateDialog(shownSentences, loadSentences, sentencesLoaded);
    window.addEventListener("pagehide", () => commitDelete(true));
  }
  Promise.all([loadFaq(), sentencesLoaded]).catch((err) => showError(faqError, err));
}

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

// ---- candidates of a run: the generate dialog's results and the history's review --------

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

// ---- bulk generation jobs: on the FAQ list and the NLU page ---------------------------

function setupBulkJobs() {
  const form = $("#bulk-form");
  if (!form) return;
  const list = $("#bulk-jobs");
  const minScore = $("#bulk-min-score");
  let timer = null;

  function jobItem(job) {
    const active = job.status === "queued" || job.status === "running";
    // A failed job says why, with the fix when there is one (job.error is a problem).
    const why = job.error && job.error.code
      ? h("p", { class: "job-error", role: "alert", text: problemText({ problem: job.error }) })
      : null;
    // A finished job's runs wait in the history (filtered to this job) for review.
    const review = !active && job.done > 0
      ? h("a", { class: "job-runs", href: `/bots/${BOT}/history?job=${job.id}`, text: t("bulk.review") })
      : null;
    return h("li", { "data-job-id": job.id, "data-status": job.status },
      h("span", { class: "text", text: t("bulk.progress", { ...job, status: t(`bulk.status.${job.status}`) }) }),
      h("progress", { max: job.total, value: job.done + job.failed,
        "aria-label": t("bulk.progress", { ...job, status: t(`bulk.status.${job.status}`) }) }),
      active ? h("button", { type: "button", class: "link danger", text: t("bulk.cancel"),
        onclick: async () => { await api("POST", botPath(`/generation-jobs/${job.id}/cancel`)); refresh(); } }) : null,
      review, why);
  }

  async function refresh() {
    const jobs = await api("GET", botPath("/generation-jobs"));
    list.replaceChildren(...jobs.slice(0, 5).map(jobItem));
    const running = jobs.some((j) => j.status === "queued" || j.status === "running");
    clearTimeout(timer);
    if (running) timer = setTimeout(refresh, 1500);
  }

  const showScore = () => { $("#bulk-min-score-value").textContent = num(Number(minScore.value)); };
  minScore.addEventListener("input", showScore);
  showScore();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError($("#bulk-error"), form);
    try {
      await api("POST", botPath("/generation-jobs"), {
        below: form.below.value ? Number(form.below.value) : null,
        auto_import: form.auto_import.checked, min_score: Number(minScore.value),
      });
      refresh();
    } catch (err) {
      showError($("#bulk-error"), err, form);
    }
  });
  refresh().catch((err) => showError($("#bulk-error"), err));
}

// ---- settings -------------------------------------------------------------------------

function checkResult(node, result) {
  node.hidden = false;
  node.classList.toggle("ok", result.ok);
  node.classList.toggle("error", !result.ok);
  node.title = "";
  if (result.ok) {
    const provider = MESSAGES["settings.provider." + result.provider] || result.provider;
    node.textContent = result.model
      ? t("settings.ok_provider", { provider, model: result.model })
      : t("settings.ok_observability", { provider });
  } else {
    // the English message names what failed (an address, a status): kept in the tooltip
    const e = result.error || { message: result.message };
    node.textContent = problemText({ problem: { ...e, detail: e.message } });
    node.title = e.hint ? `${e.message} — ${e.hint}` : e.message;
  }
}

// Leaving a form with unsaved changes asks first: the browser's own prompt when the tab
// closes or reloads, ours (in the page language) for the Studio's links, which would
// otherwise get the browser's prompt only after a click on the page.
function guardUnsaved(isDirty) {
  let leaving = false;
  window.addEventListener("beforeunload", (event) => {
    if (!leaving && isDirty()) { event.preventDefault(); event.returnValue = t("common.unsaved"); }
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link) return;  // most clicks are not on a link: nothing is left
    const href = link.getAttribute("href");
    const newTab = link.target || event.ctrlKey || event.metaKey || event.shiftKey;
    if (!href || href.startsWith("#") || newTab || event.defaultPrevented || !isDirty()) return;
    if (confirm(t("common.leave_unsaved"))) leaving = true;
    else event.preventDefault();
  });
}

// openai-compatible has no default server: an example of the usual local one
const EXAMPLE_BASE_URL = "http://127.0.0.1:8080/v1";

// The variables a prompt template can use, each a button that inserts it where the cursor
// is; described in the page language, else in the core's English.
function renderVariables(list, textarea, variables, onInsert) {
  list.replaceChildren(...Object.entries(variables).map(([name, english]) => {
    const key = "settings.var." + name;
    return h("li", { "data-variable": name },
      h("button", {
        type: "button", class: "link code", text: `{{ ${name} }}`,
        "aria-label": t("settings.insert_variable", { name }),
        onclick: () => {
          const at = textarea.selectionStart ?? textarea.value.length;
          textarea.setRangeText(`{{ ${name} }}`, at, textarea.selectionEnd ?? at, "end");
          textarea.focus();
          onInsert();
        },
      }),
      h("span", { text: " " + (MESSAGES[key] ? t(key) : english) }));
  }));
}

function pageGenerationSettings() {
  const form = $("#generation-settings");
  const error = $("#settings-error");
  const result = $("#check-result");
  let saved = null; // the settings as stored, to restore a provider's own values and see changes
  let snapshot = "";
  let providers = {}; // name -> the core's description (GET /api/providers)
  // The settings' inputs, one per field of the registry's providers: the ones shown back,
  // and the secrets, which are only ever sent (none typed: the stored one stays).
  const CONNECTION_FIELDS = [...form.querySelectorAll(".field[data-field]:not([data-secret])")]
    .map((field) => field.dataset.field);
  const SECRET_OPTIONS = [...form.querySelectorAll(".field[data-field][data-secret]")]
    .map((field) => field.dataset.field).filter((name) => name !== "api_key");

  const info = () => providers[form.provider.value] || { fields: [], models: [] };
  const isDirty = () => saved !== null && JSON.stringify(payload()) !== snapshot;

  function clearCheck() {
    result.hidden = true;
    result.className = "result";
    result.textContent = "";
  }

  function showFields() {
    const p = info();
    form.querySelectorAll(".field").forEach((field) => {
      field.hidden = !p.fields.includes(field.dataset.field);
    });
    $("#model-suggestions").replaceChildren(...p.models.map((m) => h("option", { value: m })));
    form.model.placeholder = p.models[0] || t("settings.model_any");
    form.base_url.placeholder = p.default_base_url || EXAMPLE_BASE_URL;
    $("#base_url_note").textContent = p.default_base_url
      ? t("settings.base_url_default", { url: p.default_base_url }) : "";
  }

  // The stored key belongs to the stored provider: another one must not receive it.
  function showKey() {
    const same = saved && form.provider.value === saved.provider;
    const stored = saved && saved.api_key;
    $("#api_key_note").textContent = !stored ? ""
      : same ? t("settings.api_key_stored", { mask: stored })
        : t("settings.api_key_other", { mask: stored, provider: t("settings.provider." + saved.provider) });
    form.querySelector(".remove-key").hidden = !(stored && same);
  }

  function showPromptState() {
    const isDefault = form.prompt_template.value.trim() === saved.default_prompt_template.trim();
    $("#reset-prompt").disabled = isDefault;
    $("#prompt-state").textContent = t(isDefault ? "settings.prompt_default" : "settings.prompt_custom");
  }

  function showTemperature() {
    $("#temperature-value").textContent = num(Number(form.temperature.value));
  }

  // A new provider starts from its own suggestions, not from the previous one's model and
  // URL; back to the stored provider, its stored values come back.
  function switchProvider() {
    const back = form.provider.value === saved.provider;
    const p = info();
    for (const name of CONNECTION_FIELDS) form[name].value = back ? (saved[name] || "") : "";
    if (!back) form.model.value = p.models[0] || "";
    form.api_key.value = "";
    $("#remove_api_key").checked = false;
    clearCheck();
    clearError(error, form);
    showFields();
    showKey();
  }

  function fill(s) {
    saved = s;
    form.enabled.checked = s.enabled;
    form.provider.value = s.provider;
    for (const name of CONNECTION_FIELDS) form[name].value = s[name] || "";
    form.api_key.value = "";
    $("#remove_api_key").checked = false;
    form.temperature.value = s.temperature;
    form.nb_sentences.value = s.nb_sentences;
    form.timeout_s.value = s.timeout_s === null ? "" : s.timeout_s;
    timeoutDefaults = s.default_timeout_s;
    showTimeoutDefault();
    form.max_concurrency.value = s.max_concurrency === null ? "" : s.max_concurrency;
    concurrencyDefaults = s.default_max_concurrency;
    showConcurrencyDefault();
    form.prompt_template.value = s.prompt_template;
    showFields();
    showKey();
    showTemperature();
    showPromptState();
    snapshot = JSON.stringify(payload());
  }

  function payload() {
    const data = {
      enabled: form.enabled.checked, provider: form.provider.value,
      temperature: Number(form.temperature.value), nb_sentences: Number(form.nb_sentences.value),
      timeout_s: form.timeout_s.value === "" ? null : Number(form.timeout_s.value),
      max_concurrency: form.max_concurrency.value === "" ? null : Number(form.max_concurrency.value),
      prompt_template: form.prompt_template.value,
    };
    for (const name of CONNECTION_FIELDS) {
      const field = form[name].closest(".field");
      data[name] = field && field.hidden ? null : (form[name].value.trim() || null);
    }
    for (const name of SECRET_OPTIONS) if (form[name].value) data[name] = form[name].value;
    if (form.api_key.value) data.api_key = form.api_key.value;
    else if ($("#remove_api_key").checked) data.api_key = "";
    else if (saved && saved.api_key && form.provider.value !== saved.provider) data.api_key = "";
    return data;
  }

  form.provider.addEventListener("change", switchProvider);
  // a check result describes the values it was made with: gone once they change
  form.querySelectorAll(".field input").forEach((input) => input.addEventListener("input", clearCheck));
  form.temperature.addEventListener("input", showTemperature);
  form.prompt_template.addEventListener("input", showPromptState);
  $("#reset-prompt").addEventListener("click", () => {
    form.prompt_template.value = saved.default_prompt_template;
    showPromptState();
    form.prompt_template.focus();
  });
  // An empty time limit follows the provider's default: show the one that would apply.
  let timeoutDefaults = {};
  function showTimeoutDefault() {
    const seconds = timeoutDefaults[form.provider.value];
    form.timeout_s.placeholder = seconds === undefined ? "" : seconds;
    $("#timeout-help").textContent = seconds === undefined ? "" : t("settings.timeout_help", { seconds });
  }
  form.provider.addEventListener("change", showTimeoutDefault);
  // An empty limit of calls at once follows the provider's default too.
  let concurrencyDefaults = {};
  function showConcurrencyDefault() {
    const calls = concurrencyDefaults[form.provider.value];
    form.max_concurrency.placeholder = calls === undefined ? "" : calls;
    $("#concurrency-help").textContent = calls === undefined ? "" : t("settings.max_concurrency_help", { count: calls });
  }
  form.provider.addEventListener("change", showConcurrencyDefault);
  $("#preview-prompt").addEventListener("click", async () => {
    clearError(error, form);
    const pre = $("#prompt-preview");
    try {
      const preview = await api("POST", botPath("/settings/sentence-generation/preview"),
        { prompt_template: form.prompt_template.value });
      pre.textContent = preview.messages.map((m) => `### ${m.role}\n${m.content}`).join("\n\n");
      pre.hidden = false;
    } catch (err) {
      pre.hidden = true;
      showError(error, err, form);
    }
  });
  $("#test-connection").addEventListener("click", async (event) => {
    clearError(error, form);
    const button = event.currentTarget;
    button.disabled = true;
    result.hidden = false;
    result.className = "result";
    result.textContent = t("settings.testing");
    try {
      checkResult(result, await api("POST", botPath("/settings/sentence-generation/check"), payload()));
    } catch (err) {
      result.hidden = true;
      showError(error, err, form);
    } finally {
      button.disabled = false;
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(error, form);
    const button = $("#save-settings");
    button.disabled = true;
    try {
      fill(await api("PUT", botPath("/settings/sentence-generation"), payload()));
      toast(t("common.saved"));
    } catch (err) {
      showError(error, err, form);
    } finally {
      button.disabled = false;
    }
  });
  guardUnsaved(isDirty);
  Promise.all([api("GET", "/api/providers"), api("GET", botPath("/settings/sentence-generation")),
    api("POST", botPath("/settings/sentence-generation/preview"), {})])
    .then(([list, s, preview]) => {
      providers = Object.fromEntries(list.map((p) => [p.name, p]));
      fill(s);
      renderVariables($("#variables"), form.prompt_template, preview.variables, showPromptState);
    })
    .catch((err) => showError(error, err));
}

// Each destination's check (Langfuse, OTLP) as one line in the page language: what was
// reached, or what failed and what to do. `urls` are the addresses the form holds.
function observabilityLines(check, urls) {
  const results = check.details && (check.details.langfuse || check.details.otlp)
    ? ["langfuse", "otlp"].map((name) => check.details[name]).filter(Boolean) : [check];
  return results.map((r) => {
    const url = urls[r.provider] || "";
    if (r.ok) return { ok: true, text: t(`settings.obs.ok.${r.provider}`, { url }) };
    const code = r.error && r.error.code;
    const why = MESSAGES[`settings.obs.why.${code}`] ? t(`settings.obs.why.${code}`)
      : problemText({ problem: { ...r.error, detail: r.message } });
    return { ok: false, text: t("settings.obs.failure",
      { target: t(`settings.obs.target.${r.provider}`, { url }), reason: why }) };
  });
}

// A failure is a warning, not an error: the settings are valid, the destination is down
// or refuses them, and traces are simply not sent until it answers.
function showObservability(node, check, urls, failedTitle) {
  const lines = observabilityLines(check, urls);
  const failed = lines.filter((l) => !l.ok);
  node.hidden = false;
  node.className = failed.length ? "result warning" : "result ok";
  node.replaceChildren(
    ...(failed.length ? [h("strong", { text: failedTitle })] : []),
    h("ul", {}, ...(failed.length ? failed : lines).map((l) => h("li", { text: l.text }))));
}

function pageObservabilitySettings() {
  const form = $("#observability-settings");
  const error = $("#settings-error");
  const result = $("#check-result");
  let snapshot = null;

  const isDirty = () => snapshot !== null && JSON.stringify(payload()) !== snapshot;
  const urls = () => ({ langfuse: form.langfuse_host.value.trim(), otlp: form.otlp_endpoint.value.trim() });

  function clearCheck() {
    result.hidden = true;
    result.className = "result";
    result.replaceChildren();
  }

  function fill(s) {
    form.enabled.checked = s.enabled;
    form.langfuse_public_key.value = s.langfuse_public_key || "";
    form.langfuse_secret_key.value = "";
    $("#secret_note").textContent = s.langfuse_secret_key
      ? t("settings.api_key_stored", { mask: s.langfuse_secret_key }) : "";
    form.langfuse_host.value = s.langfuse_host || "";
    form.otlp_endpoint.value = s.otlp_endpoint || "";
    form.capture_content.checked = s.capture_content;
    $("#langfuse-keys-help").open = !s.langfuse_public_key; // the way to get them, until they are in
    snapshot = JSON.stringify(payload());
  }

  function payload() {
    const data = {
      enabled: form.enabled.checked, capture_content: form.capture_content.checked,
      langfuse_public_key: form.langfuse_public_key.value.trim() || null,
      langfuse_host: form.langfuse_host.value.trim() || null,
      otlp_endpoint: form.otlp_endpoint.value.trim() || null,
    };
    if (form.langfuse_secret_key.value) data.langfuse_secret_key = form.langfuse_secret_key.value;
    return data;
  }

  // Saved settings that name a destination are checked at once: an unreachable host is
  // said now, not discovered later as traces that never arrived.
  async function checkSaved(s) {
    if (!(s.langfuse_host || s.otlp_endpoint)) return;
    result.hidden = false;
    result.className = "result";
    result.textContent = t("settings.obs.checking");
    try {
      const check = await api("POST", botPath("/settings/observability/check"));
      showObservability(result, check, urls(), t("settings.obs.saved_unreachable"));
    } catch (err) {
      clearCheck();
      showError(error, err, form);
    }
  }

  form.addEventListener("input", clearCheck);
  $("#test-connection").addEventListener("click", async (event) => {
    clearError(error, form);
    const button = event.currentTarget;
    button.disabled = true;
    result.hidden = false;
    result.className = "result";
    result.textContent = t("settings.testing");
    try {
      const check = await api("POST", botPath("/settings/observability/check"), payload());
      showObservability(result, check, urls(), t("settings.obs.unreachable"));
    } catch (err) {
      clearCheck();
      showError(error, err, form);
    } finally {
      button.disabled = false;
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(error, form);
    clearCheck();
    const button = $("#save-settings");
    button.disabled = true;
    try {
      const s = await api("PUT", botPath("/settings/observability"), payload());
      fill(s);
      toast(t("common.saved"));
      await checkSaved(s);
    } catch (err) {
      showError(error, err, form);
    } finally {
      button.disabled = false;
    }
  });
  guardUnsaved(isDirty);
  api("GET", botPath("/settings/observability")).then(fill).catch((err) => showError(error, err));
}

// ---- history --------------------------------------------------------------------------

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
      h("ul", {}, ...call.parse_problems.map((p) => h("li", { text: p }))));
  }
  return box;
}

function traceRejected(rejected) {
  if (!rejected || !rejected.length) return [];
  return [h("h3", { text: t("gen.rejected_title", { count: rejected.length }) }),
    h("ul", { class: "trace-rejected" }, ...rejected.map((r) => h("li", { "data-reason": r.reason },
      h("span", { text: r.text || "∅" }), " — ",
      h("span", { class: "note", text: t("reason." + r.reason) + (rejectionDetail(r) ? ` (${rejectionDetail(r)})` : "") }))))];
}

// ---- start ----------------------------------------------------------------------------

const PAGES = {
  login: pageLogin, bots: pageBots, faqs: pageFaqs, faq: pageFaq,
  "settings-generation": pageGenerationSettings,
  "settings-observability": pageObservabilitySettings, history: pageHistory,
};

document.addEventListener("DOMContentLoaded", () => {
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try { await api("POST", "/api/auth/logout"); } finally { location.href = "/login"; }
    });
  }
  const start = PAGES[body.dataset.page];
  if (start) start();
});

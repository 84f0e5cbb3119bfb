// The two settings pages of a bot: sentence generation (the provider, its model and key,
// the prompt) and observability (where traces go). Each tests its connection the same way.
"use strict";

// The generation provider's check, in the result box: what was reached, or why not.
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

// A settings page's result box, emptied: a check result describes the values it was made
// with, and is gone once they change.
function clearCheck(node) {
  node.hidden = true;
  node.className = "result";
  node.replaceChildren();
}

// A check of a settings page's values (a provider reached, trace destinations), said in its
// result box (`page.result`): `waiting` while `send()` runs, then what `show` makes of the
// answer. A refused check (values that cannot be used) is the form's error, the box emptied.
async function runCheck(page, waiting, send, show) {
  const { form, error, result } = page;
  result.hidden = false;
  result.className = "result";
  result.textContent = waiting;
  try {
    show(await send());
  } catch (err) {
    clearCheck(result);
    showError(error, err, form);
  }
}

// The "Test the connection" button of both settings pages: checks the values the form
// holds, saved or not; one check at a time.
function setupTestConnection(page, send, show) {
  $("#test-connection").addEventListener("click", async (event) => {
    clearError(page.error, page.form);
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await runCheck(page, t("settings.testing"), send, show);
    } finally {
      button.disabled = false;
    }
  });
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
    clearCheck(result);
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
  form.querySelectorAll(".field input").forEach((input) => input.addEventListener("input", () => clearCheck(result)));
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
  setupTestConnection({ form, error, result },
    () => api("POST", botPath("/settings/sentence-generation/check"), payload()),
    (check) => checkResult(result, check));
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
    await runCheck({ form, error, result }, t("settings.obs.checking"),
      () => api("POST", botPath("/settings/observability/check")),
      (check) => showObservability(result, check, urls(), t("settings.obs.saved_unreachable")));
  }

  form.addEventListener("input", () => clearCheck(result));
  setupTestConnection({ form, error, result },
    () => api("POST", botPath("/settings/observability/check"), payload()),
    (check) => showObservability(result, check, urls(), t("settings.obs.unreachable")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(error, form);
    clearCheck(result);
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

PAGES["settings-generation"] = pageGenerationSettings;
PAGES["settings-observability"] = pageObservabilitySettings;

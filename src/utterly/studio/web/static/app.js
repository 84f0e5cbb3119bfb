// Utterly Studio: what every page uses (the API with its session and CSRF token, the
// messages in the page's language, a problem's wording, toasts), the login and bots pages,
// and the start. Each other page has its file, loaded by its template after this one,
// which adds its start to PAGES. Every read and write goes through the JSON API with the
// session cookie; writes echo the CSRF cookie in X-CSRF-Token. No framework, no CDN.
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

// ---- start ----------------------------------------------------------------------------

// A page's start by its name (body's data-page); each page's own file adds its start.
const PAGES = { login: pageLogin, bots: pageBots };

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

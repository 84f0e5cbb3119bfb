// The NLU page: train, "Try it", the side-by-side evaluation chart, bulk generation jobs.
// Uses the helpers of app.js (api, t, h, $, botPath, num, percent, showError, clearError)
// and bulk.js (setupBulkJobs).
"use strict";

function barChart(result) {
  // Two groups (accuracy, macro-F1), two bars each; plain SVG, labelled for screen readers.
  const metrics = [["accuracy", t("nlu.accuracy")], ["macro_f1", t("nlu.macro_f1")]];
  const series = [["human_only", t("nlu.human_only"), "#9aa4b5"],
    ["human_plus_generated", t("nlu.human_plus_generated"), "#2f5fd0"]];
  const width = 520, height = 220, left = 40, bottom = 30, barWidth = 70, gap = 50;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 -16 ${width} ${height + 56}`);  // room above a 100 % bar for its label
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", series.map(([key, label]) =>
    `${label}${t("common.colon")} ${metrics.map(([m, ml]) => `${ml} ${percent(result[key][m], 1)}`).join(", ")}`).join("; "));
  svg.classList.add("chart");
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  const plot = height - bottom;
  for (const tick of [0, 0.5, 1]) {
    const y = plot - tick * (plot - 10);
    add("line", { x1: left, x2: width, y1: y, y2: y, stroke: "#d9dde5" });
    add("text", { x: left - 6, y: y + 4, "text-anchor": "end", "font-size": 11 }, percent(tick));
  }
  metrics.forEach(([metric, label], g) => {
    const x0 = left + 30 + g * (2 * barWidth + gap + 40);
    series.forEach(([key, , color], i) => {
      const value = result[key][metric];
      const h = value * (plot - 10);
      const x = x0 + i * (barWidth + 6);
      add("rect", { x, y: plot - h, width: barWidth, height: h, fill: color });
      add("text", { x: x + barWidth / 2, y: plot - h - 4, "text-anchor": "middle", "font-size": 12 },
        percent(value, 1));
    });
    add("text", { x: x0 + barWidth, y: plot + 18, "text-anchor": "middle", "font-size": 12 }, label);
  });
  series.forEach(([, label, color], i) => {
    add("rect", { x: left + i * 220, y: height + 14, width: 12, height: 12, fill: color });
    add("text", { x: left + 18 + i * 220, y: height + 24, "font-size": 12 }, label);
  });
  return svg;
}

// Fewer held-out sentences than this, and one sentence more or less moves the scores by
// several points: the page says the evaluation is too small to mean much.
const MIN_TESTED = 30;

// The "unknown" threshold is sent with each parse (the API stores none, see docs/nlu.md);
// the page remembers the last one per bot in this browser. `onChange` is told each move.
function setupThreshold(onChange) {
  const input = $("#nlu-threshold");
  const storeKey = `utterly.nlu.threshold.${BOT}`;
  const saved = Number(localStorage.getItem(storeKey));
  if (localStorage.getItem(storeKey) !== null && saved >= 0 && saved <= 1) input.value = saved;
  const show = () => { $("#nlu-threshold-value").textContent = percent(Number(input.value)); };
  input.addEventListener("input", () => {
    show();
    localStorage.setItem(storeKey, input.value);
    onChange();
  });
  show();
  return () => Number(input.value);
}

// "Did it help?" in one sentence, with the chart's own figures (one decimal) and their
// difference in points, so that the words never contradict the bars.
const CHART_FIGURE = new Intl.NumberFormat("en-US",
  { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false });
function verdictText(r) {
  if (!r.generated_used) return t("nlu.verdict_none");
  const tenths = (value) => Math.round(Number(CHART_FIGURE.format(value).replace("%", "")) * 10);
  const points = (metric) => (tenths(r.human_plus_generated[metric]) - tenths(r.human_only[metric])) / 10;
  const pointsText = (d) => t("nlu.points", { count: Math.abs(d),
    points: num(d, { signDisplay: "exceptZero", minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
  const accuracy = points("accuracy"), f1 = points("macro_f1");
  const way = accuracy === 0 && f1 === 0 ? "same" : accuracy >= 0 && f1 >= 0 ? "helped"
    : accuracy <= 0 && f1 <= 0 ? "hurt" : "mixed";
  return t("nlu.verdict_" + way, {
    before: percent(r.human_only.accuracy, 1), after: percent(r.human_plus_generated.accuracy, 1),
    points: pointsText(accuracy), f1_before: percent(r.human_only.macro_f1, 1),
    f1_after: percent(r.human_plus_generated.macro_f1, 1), f1_points: pointsText(f1),
  });
}

// The answer to "Which FAQ?": the FAQ and its confidence, or "unknown" below the threshold
// (with the best guess, so the threshold can be tuned).
function parseAnswer(r) {
  if (r.unknown) {
    return h("p", { class: "parse-intent unknown", "data-unknown": "true" },
      h("strong", { text: t("nlu.unknown") }), " — " + t("nlu.unknown_why",
        { title: r.intent.title, confidence: percent(r.confidence), threshold: percent(r.threshold) }));
  }
  return h("p", { class: "parse-intent" },
    h("strong", { text: r.intent.title }), ` — ${t("nlu.confidence")} ${percent(r.confidence)}`);
}

// The API's method ("k-fold (k=5)", "held-out") in the page's language.
function methodText(method) {
  const folds = /^k-fold \(k=(\d+)\)$/.exec(method);
  if (folds) return t("nlu.method_kfold", { k: folds[1] });
  return method === "held-out" ? t("nlu.method_held_out") : method;
}

function pageNlu() {
  const locale = () => $("#nlu-locale").value;

  const train = $("#nlu-train");
  if (train) {
    train.addEventListener("click", async () => {
      clearError($("#nlu-error"));
      train.disabled = true;
      try {
        const info = await api("POST", botPath("/nlu/train"), { locale: locale() });
        $("#nlu-model").textContent = t("nlu.trained",
          { count: info.trained_on, generated: info.generated_used, intents: info.intents });
      } catch (err) {
        showError($("#nlu-error"), err);
      } finally {
        train.disabled = false;
      }
    });
  }

  // The answer shown is for one threshold: when the slider moves, it is marked stale at
  // once and asked again for the same sentence; if that fails, it stays marked.
  const out = $("#nlu-result");
  let shown = null;  // the sentence and locale of the answer on the page
  let asked = 0;     // the latest parse sent: an older answer arriving late is dropped
  let again = null;

  async function parse(text, loc) {
    const mine = ++asked;
    clearError($("#nlu-error"));
    try {
      const r = await api("POST", botPath("/nlu/parse"), { text, locale: loc, threshold: threshold() });
      if (mine !== asked) return;
      shown = { text, locale: loc };
      out.removeAttribute("data-stale");
      out.replaceChildren(parseAnswer(r));
      if (r.ranking.length) {
        out.append(h("p", { text: t("nlu.runners_up") }),
          h("ul", {}, ...r.ranking.map((x) => h("li", { text: `${x.title} — ${percent(x.confidence)}` }))));
      }
    } catch (err) {
      if (mine !== asked) return;
      if (out.dataset.stale) $("#nlu-stale").textContent = t("nlu.stale_failed");
      showError($("#nlu-error"), err);
    }
  }

  function markStale() {
    if (!shown) return;
    if (!out.dataset.stale) {
      out.dataset.stale = "true";
      out.prepend(h("p", { id: "nlu-stale", class: "warning" }));
    }
    $("#nlu-stale").textContent = t("nlu.stale");
    clearTimeout(again);
    const { text, locale: loc } = shown;
    again = setTimeout(() => parse(text, loc), 250);  // once the slider rests
  }

  const threshold = setupThreshold(markStale);

  $("#nlu-try").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(again);
    shown = null;
    out.removeAttribute("data-stale");
    out.replaceChildren();
    parse($("#nlu-text").value, locale());
  });

  $("#nlu-evaluate").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    clearError($("#eval-error"));
    button.disabled = true;
    $("#eval-status").textContent = t("nlu.evaluating");
    $("#eval-too-small").hidden = true;
    $("#eval-verdict").textContent = "";
    $("#eval-chart").replaceChildren();
    $("#eval-details").replaceChildren();
    try {
      const r = await api("POST", botPath("/nlu/evaluate"), { locale: locale() });
      $("#eval-status").textContent = t("nlu.method",
        { method: methodText(r.method), tested: r.tested_on, generated: r.generated_used });
      const small = $("#eval-too-small");
      small.hidden = r.tested_on >= MIN_TESTED;
      small.textContent = t("nlu.too_small", { count: r.tested_on, least: MIN_TESTED });
      $("#eval-verdict").textContent = verdictText(r);
      $("#eval-chart").append(barChart(r));
      const b = r.human_plus_generated;
      const details = $("#eval-details");
      if (b.confused.length) {
        details.append(h("h3", { text: t("nlu.confused") }), h("ul", {}, ...b.confused.map((c) =>
          h("li", { text: `${c.title} → ${c.predicted_title} (${c.count})` }))));
      }
      details.append(h("h3", { text: t("nlu.per_faq") }), h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("faqs.col_title") }),
          h("th", { scope: "col", class: "num", text: t("nlu.precision") }),
          h("th", { scope: "col", class: "num", text: t("nlu.recall") }))),
        h("tbody", {}, ...b.per_intent.map((p) => h("tr", {}, h("td", { text: p.title }),
          h("td", { class: "num", text: num(p.precision, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) }),
          h("td", { class: "num", text: num(p.recall, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) })))))));
    } catch (err) {
      $("#eval-status").textContent = "";
      showError($("#eval-error"), err);
    } finally {
      button.disabled = false;
    }
  });

  setupBulkJobs();
}

PAGES.nlu = pageNlu;

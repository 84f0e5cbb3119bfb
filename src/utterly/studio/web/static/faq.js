// The FAQ editor: its fields, its sentences (with Undo for a deletion) and the generate
// dialog (generate.js).
"use strict";

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

PAGES.faq = pageFaq;

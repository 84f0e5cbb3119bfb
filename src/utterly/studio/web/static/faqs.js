// The FAQ list: search, create, delete; bulk generation below it (bulk.js).
"use strict";

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

PAGES.faqs = pageFaqs;

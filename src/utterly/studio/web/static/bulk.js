// Bulk generation jobs, on the FAQ list and the NLU page (templates/_bulk.html): start a
// job for the FAQs short of sentences, follow it, cancel it, review its runs.
"use strict";

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

// The import job page polls its status each second while the job runs, and reloads when it ends.
(() => {
  const box = document.getElementById("import-progress");
  if (!box) return;
  const bar = box.querySelector(".progress-bar");
  const text = box.querySelector("[data-progress-text]");
  const label = document.getElementById("import-status-label");
  // The width is set here, not in a style="" attribute, which the Content-Security-Policy refuses.
  const show = (percent) => { bar.style.width = `${percent}%`; };
  show(bar.parentElement.getAttribute("aria-valuenow"));
  if (!box.dataset.statusUrl) return;
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.statusUrl, {headers: {Accept: "application/json"}, credentials: "same-origin"});
      if (response.ok) {
        const job = await response.json();
        if (!job.running) { window.location.reload(); return; }
        show(job.percent);
        bar.textContent = `${job.percent}%`;
        bar.parentElement.setAttribute("aria-valuenow", job.percent);
        label.textContent = job.label;
        text.textContent = job.total ? `${job.label} · ${job.processed} / ${job.total}` : job.label;
      }
    } catch (error) { /* a missed poll is retried below */ }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
})();

// One click sends once: the button is disabled after the first submit (the server also
// makes one ticket of the same form sent twice).
(() => {
  const button = document.getElementById("intake-submit");
  const form = document.getElementById("intake-form");
  if (!button || !form) return;
  form.addEventListener("submit", (event) => {
    if (button.disabled) { event.preventDefault(); return; }
    setTimeout(() => { button.disabled = true; }, 0);
  });
  // Coming back with the browser's back button shows the page as it was left: enable it again.
  window.addEventListener("pageshow", () => { button.disabled = false; });
})();

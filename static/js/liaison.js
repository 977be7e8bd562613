// Behaviour shared by every page, declared in the markup with data attributes (the
// Content-Security-Policy allows no inline script and no onclick= handlers):
//   <button data-print>                prints the page (charts' tables unfolded);
//   <form data-confirm="question">     asks before it is sent;
//   <select data-autosubmit>           sends its form when the choice changes.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
// A chart's figures (templates/includes/chart.html) are folded on screen and printed open.
window.addEventListener("beforeprint", () => {
  document.querySelectorAll("details.chart-data").forEach((details) => { details.open = true; });
});
document.addEventListener("submit", (event) => {
  const question = event.target.dataset?.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});

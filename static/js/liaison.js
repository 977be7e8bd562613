// Behaviour shared by every page, declared in the markup with data attributes (the
// Content-Security-Policy allows no inline script and no onclick= handlers):
//   <button data-print>                prints the page;
//   <form data-confirm="question">     asks before it is sent;
//   <select data-autosubmit>           sends its form when the choice changes.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
document.addEventListener("submit", (event) => {
  const question = event.target.dataset?.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});

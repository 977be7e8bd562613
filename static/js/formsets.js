// "Add another" for a Django formset: a button
//   <button data-formset-add="PREFIX" data-list="LIST-ID" data-template="TEMPLATE-ID">
// appends the <template>'s empty form, numbered as the next form, and raises TOTAL_FORMS.
document.querySelectorAll("[data-formset-add]").forEach((button) => {
  button.addEventListener("click", () => {
    const total = document.getElementById(`id_${button.dataset.formsetAdd}-TOTAL_FORMS`);
    const list = document.getElementById(button.dataset.list);
    const html = document.getElementById(button.dataset.template).innerHTML.replace(/__prefix__/g, total.value);
    list.insertAdjacentHTML("beforeend", html);
    total.value = Number(total.value) + 1;
    list.lastElementChild?.querySelector("textarea, input:not([type=hidden])")?.focus();
  });
});

// Matters of a visit or a reception card: the answer is asked for only when the matter was
// answered on the spot, not when it turns into a ticket.
(() => {
  const matters = document.getElementById("matters");
  if (!matters) return;
  const sync = (card) => {
    const answer = card.querySelector(".matter-answer");
    if (answer) answer.hidden = Boolean(card.querySelector("input[type=radio][value=ticket]")?.checked);
  };
  matters.addEventListener("change", (event) => {
    const card = event.target.closest(".matter");
    if (card) sync(card);
  });
  matters.querySelectorAll(".matter").forEach(sync);
})();

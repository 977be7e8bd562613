// A long select of people (data-filterable) gets a text box above it that narrows its options by
// name or pinyin initials, and chooses the first that fits. Without this script it is a plain select.
document.querySelectorAll("select[data-filterable]").forEach((select) => {
  const box = document.createElement("input");
  box.type = "search";
  box.className = "form-control mb-2 select-filter";
  box.autocomplete = "off";
  box.placeholder = select.dataset.filterLabel;
  box.setAttribute("aria-label", select.dataset.filterLabel);
  box.setAttribute("aria-controls", select.id);
  select.before(box);
  box.addEventListener("input", () => {
    const text = box.value.trim().toLowerCase();
    let first = null;
    for (const option of select.options) {
      if (!option.value) continue;
      const fits = !text || option.text.toLowerCase().includes(text) || (option.dataset.initials || "").startsWith(text);
      option.hidden = !fits;
      if (fits && first === null) first = option;
    }
    if (text && first !== null && (select.value === "" || select.selectedOptions[0].hidden)) select.value = first.value;
  });
});

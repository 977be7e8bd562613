// The ticket form: co-signers matter only for a formal motion (or when some are already chosen).
(() => {
  const coSigners = document.getElementById("co-signers");
  if (!coSigners) return;
  function sync() {
    const motion = document.querySelector("input[name=kind][value=motion]");
    coSigners.hidden = !(motion && motion.checked) && !coSigners.querySelector("option:checked");
  }
  document.querySelectorAll("input[name=kind]").forEach((radio) => radio.addEventListener("change", sync));
  sync();
})();

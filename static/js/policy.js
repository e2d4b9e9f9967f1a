// The library's filters fold away on a phone, so the documents come first on the screen.
(function () {
  if (!window.matchMedia("(max-width: 720px)").matches) return;
  document.querySelectorAll(".policy-facets__toggle[open]").forEach(function (details) {
    details.removeAttribute("open");
  });
})();

// Small enhancements for the search page; everything also works without JavaScript.
(function () {
  "use strict";

  var form = document.getElementById("search-form");
  if (!form) {
    return;
  }

  // Changing the sort order is a complete choice: submit it at once.
  var autosubmit = form.querySelectorAll("[data-autosubmit]");
  Array.prototype.forEach.call(autosubmit, function (control) {
    control.addEventListener("change", function () {
      if (typeof form.requestSubmit === "function") {
        form.requestSubmit();
      } else {
        form.submit();
      }
    });
  });

  // A new search starts on page 1 and leaves out empty fields, so URLs stay short.
  form.addEventListener("submit", function () {
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || element.type === "submit") {
        return;
      }
      if (element.name === "page" || element.value === "") {
        element.disabled = true;
      }
    });
  });

  // Coming back with the Back button must not leave fields disabled by the code above.
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(form.elements, function (element) {
      element.disabled = false;
    });
  });

  // On narrow screens the facet panel starts closed so results come first; the chips
  // above the results still show what is selected.
  var collapsible = document.querySelectorAll("[data-collapse-on-mobile]");
  if (window.matchMedia && window.matchMedia("(max-width: 48rem)").matches) {
    Array.prototype.forEach.call(collapsible, function (details) {
      details.removeAttribute("open");
    });
  }
})();

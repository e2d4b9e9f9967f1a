/*
 * Title suggestions under every search box marked with data-suggest.
 *
 * The box becomes an ARIA combobox: typing (debounced) asks /api/suggest for titles,
 * ArrowUp/ArrowDown move through them, Enter opens the chosen article and Escape
 * closes the list. With no suggestion chosen, Enter submits the form as usual, and
 * without JavaScript the box is a plain search field.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;
  var MIN_CHARS = 2;
  var endpoint = document.body.getAttribute("data-suggest-url");
  if (!endpoint || !window.fetch) {
    return;
  }
  var boxCount = 0;

  function isSafePath(url) {
    // Only links to pages of this site, never another scheme or host.
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }

  function setup(input) {
    boxCount += 1;
    var listId = "suggest-list-" + boxCount;
    var host = input.parentElement;
    host.classList.add("suggest-host");

    var list = document.createElement("ul");
    list.id = listId;
    list.className = "suggest-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "标题联想");
    list.hidden = true;
    host.appendChild(list);

    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    host.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);

    var timer = null;
    var controller = null;
    var suggestions = [];
    var active = -1;

    function close() {
      list.hidden = true;
      list.textContent = "";
      suggestions = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      active = index;
      for (var i = 0; i < options.length; i += 1) {
        var selected = i === index;
        options[i].setAttribute("aria-selected", selected ? "true" : "false");
        options[i].classList.toggle("is-active", selected);
        if (selected && options[i].scrollIntoView) {
          options[i].scrollIntoView({ block: "nearest" });
        }
      }
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", listId + "-" + index);
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function openArticle(index) {
      var item = suggestions[index];
      if (item && isSafePath(item.url)) {
        window.location.assign(item.url);
      }
    }

    function render(items) {
      list.textContent = "";
      suggestions = items.filter(function (item) {
        return item && isSafePath(item.url);
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (!suggestions.length) {
        close();
        return;
      }
      suggestions.forEach(function (item, index) {
        var option = document.createElement("li");
        option.id = listId + "-" + index;
        option.className = "suggest-list__option";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-index", String(index));
        // textContent: titles are data, never markup.
        option.textContent = item.title;
        list.appendChild(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = "有 " + suggestions.length + " 条标题联想，可用上下方向键选择。";
    }

    function load() {
      var text = input.value.trim();
      if (text.length < MIN_CHARS) {
        if (controller) {
          controller.abort();
        }
        close();
        return;
      }
      if (controller) {
        controller.abort();
      }
      controller = window.AbortController ? new AbortController() : null;
      var options = { headers: { Accept: "application/json" } };
      if (controller) {
        options.signal = controller.signal;
      }
      window
        .fetch(endpoint + "?q=" + encodeURIComponent(text), options)
        .then(function (response) {
          return response.ok ? response.json() : [];
        })
        .then(function (items) {
          // A slower answer to an older text must not replace the current one.
          if (input.value.trim() === text && document.activeElement === input) {
            render(Array.isArray(items) ? items : []);
          }
        })
        .catch(function () {
          /* aborted or offline: the box still works as a plain search field */
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(load, DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && suggestions.length > 0;
      if (event.key === "ArrowDown") {
        if (!open) {
          load();
          return;
        }
        event.preventDefault();
        highlight(active + 1 >= suggestions.length ? 0 : active + 1);
      } else if (event.key === "ArrowUp") {
        if (!open) {
          return;
        }
        event.preventDefault();
        highlight(active <= 0 ? suggestions.length - 1 : active - 1);
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();
          openArticle(active);
        }
        // Otherwise the form submits the typed text as a normal search.
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        }
      }
    });

    input.addEventListener("blur", function () {
      window.clearTimeout(timer);
      close();
    });

    // mousedown would blur the box (and close the list) before the click lands.
    list.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });

    list.addEventListener("click", function (event) {
      var option = event.target.closest ? event.target.closest("[role=option]") : null;
      if (option) {
        openArticle(Number(option.getAttribute("data-index")));
      }
    });

    list.addEventListener("mousemove", function (event) {
      var option = event.target.closest ? event.target.closest("[role=option]") : null;
      if (option) {
        highlight(Number(option.getAttribute("data-index")));
      }
    });
  }

  var inputs = document.querySelectorAll("input[data-suggest]");
  for (var i = 0; i < inputs.length; i += 1) {
    setup(inputs[i]);
  }
})();

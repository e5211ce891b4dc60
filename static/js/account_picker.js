// The deal form's account picker (templates/sales/account_picker.html): a WAI-ARIA combobox whose
// listbox shows the accounts matching what is typed, fetched from the account search as JSON. Typing
// forgets the chosen id until an account is picked (mouse, or arrows and Enter); Escape closes the list,
// or empties the box when it is closed. The server resolves a typed name nobody picked, and an empty box
// means no account. Works on the deal page and in the editor htmx swaps into the deal list.
(function () {
  "use strict";
  var DELAY_MS = 150;

  function setUp(root) {
    var input = root.querySelector("[role=combobox]");
    var hidden = root.querySelector("[data-picker-value]");
    var listbox = root.querySelector("[role=listbox]");
    var status = root.querySelector("[data-picker-status]");
    var url = root.getAttribute("data-search-url");
    var options = [];
    var active = -1;
    var timer = null;
    var pending = null;

    function isOpen() {
      return !listbox.hidden;
    }

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function open() {
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function activate(index) {
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      if (index < 0) {
        input.removeAttribute("aria-activedescendant");
        return;
      }
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    }

    function pick(option) {
      input.value = option.getAttribute("data-name");
      hidden.value = option.getAttribute("data-id");
      close();
      status.textContent = input.value + " chosen.";
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    // The name with the typed text marked, built as text nodes (names are data, never markup).
    function label(name, text) {
      var fragment = document.createDocumentFragment();
      var lower = name.toLowerCase();
      var at = lower.length === name.length ? lower.indexOf(text.toLowerCase()) : -1;
      if (at < 0 || !text) {
        fragment.appendChild(document.createTextNode(name));
        return fragment;
      }
      var mark = document.createElement("mark");
      mark.textContent = name.slice(at, at + text.length);
      fragment.appendChild(document.createTextNode(name.slice(0, at)));
      fragment.appendChild(mark);
      fragment.appendChild(document.createTextNode(name.slice(at + text.length)));
      return fragment;
    }

    function show(results, text) {
      listbox.replaceChildren();
      options = results.map(function (account, i) {
        var option = document.createElement("li");
        option.id = listbox.id + "_" + i;
        option.className = "combobox__option";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-id", String(account.id));
        option.setAttribute("data-name", account.name);
        option.appendChild(label(account.name, text));
        if (account.detail) {
          var detail = document.createElement("span");
          detail.className = "combobox__detail";
          detail.textContent = account.detail;
          option.appendChild(detail);
        }
        listbox.appendChild(option);
        return option;
      });
      if (!options.length) {
        var empty = document.createElement("li");
        empty.className = "combobox__empty";
        empty.setAttribute("role", "option");
        empty.setAttribute("aria-disabled", "true");
        empty.setAttribute("aria-selected", "false");
        empty.textContent = "No account matches \u201c" + text + "\u201d";
        listbox.appendChild(empty);
      }
      active = -1;
      input.removeAttribute("aria-activedescendant");
      open();
      status.textContent = options.length
        ? options.length + (options.length === 1 ? " account" : " accounts") + " found; arrow down to choose."
        : "No account matches.";
    }

    function search(then) {
      var text = input.value.trim();
      if (pending) {
        pending.abort();
      }
      if (!text) {
        close();
        listbox.replaceChildren();
        options = [];
        return;
      }
      pending = new AbortController();
      fetch(url + "?q=" + encodeURIComponent(text), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: pending.signal,
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (data) {
          pending = null;
          if (input.value.trim() !== text) {
            return; // typed on meanwhile: the next search answers
          }
          show(data.results, text);
          if (then) {
            then();
          }
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            status.textContent = "The account search did not answer; try again.";
          }
        });
    }

    function move(step) {
      if (!options.length) {
        return;
      }
      var next = active < 0 ? (step > 0 ? 0 : options.length - 1) : (active + step + options.length) % options.length;
      activate(next);
    }

    input.addEventListener("input", function () {
      hidden.value = "";
      clearTimeout(timer);
      timer = setTimeout(search, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      switch (event.key) {
        case "ArrowDown":
        case "ArrowUp":
          event.preventDefault();
          var step = event.key === "ArrowDown" ? 1 : -1;
          if (isOpen()) {
            move(step);
          } else if (!event.altKey) {
            clearTimeout(timer);
            search(function () {
              move(step);
            });
          } else {
            search();
          }
          break;
        case "Enter":
          if (isOpen() && active >= 0) {
            event.preventDefault();
            pick(options[active]);
          }
          break;
        case "Escape":
          if (isOpen()) {
            event.preventDefault();
            event.stopPropagation();
            close();
          } else if (input.value) {
            event.preventDefault();
            input.value = "";
            hidden.value = "";
            status.textContent = "No account.";
          }
          break;
        case "Tab":
          close();
          break;
      }
    });

    // Keep the focus in the text box while the mouse picks, so a blur does not close the list first.
    listbox.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    listbox.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option && option.getAttribute("aria-disabled") !== "true") {
        pick(option);
      }
    });
    input.addEventListener("blur", close);
  }

  function setUpAll(root) {
    root.querySelectorAll("[data-account-picker]").forEach(function (el) {
      if (!el.hasAttribute("data-picker-ready")) {
        el.setAttribute("data-picker-ready", "");
        setUp(el);
      }
    });
  }

  document.addEventListener("htmx:load", function (event) {
    setUpAll(event.detail.elt.parentNode || document);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      setUpAll(document);
    });
  } else {
    setUpAll(document);
  }
})();

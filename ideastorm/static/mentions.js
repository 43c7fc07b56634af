// mentions: suggests members while "@name" is typed in a textarea marked data-mentions (its value is
// the URL of notifications.suggest_members). Progressive enhancement only: without it, the member
// types "@handle" out (each member's handle is on their account page).
(function () {
  "use strict";
  var DEBOUNCE_MS = 150;
  // The word before the caret when it is a mention being typed: "@" after a space, a line start or
  // punctuation (not in an email address, as notifications.services.MENTION reads it), then at
  // least one letter, digit or hyphen. Names are matched too, so letters beyond ASCII count.
  var TYPED = /(?:^|[^\p{L}\p{N}_@.])@([\p{L}\p{N}-]{1,40})$/u;
  var counter = 0;

  function attach(textarea) {
    if (textarea.dataset.mentionsReady) return;
    var url = textarea.getAttribute("data-mentions");
    if (!url || !window.fetch) return;
    textarea.dataset.mentionsReady = "1";

    var list = document.createElement("ul");
    list.id = (textarea.id || "mentions-" + (++counter)) + "-mentions";
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    textarea.insertAdjacentElement("afterend", list);
    textarea.parentElement.classList.add("mentions-anchor");
    textarea.setAttribute("role", "combobox");
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", list.id);
    textarea.setAttribute("aria-expanded", "false");

    var timer = null;
    var asked = 0;  // the latest request's number: an older answer arriving late is dropped
    var fragment = null;  // {start, end} of "@ro" in the value while suggestions are open
    var active = -1;

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll('[role="option"]'));
    }

    function close() {
      window.clearTimeout(timer);
      asked += 1;
      list.hidden = true;
      list.textContent = "";
      fragment = null;
      active = -1;
      textarea.setAttribute("aria-expanded", "false");
      textarea.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var all = options();
      active = index;
      all.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (all[index]) {
        textarea.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      } else {
        textarea.removeAttribute("aria-activedescendant");
      }
    }

    function show(html, typed) {
      var template = document.createElement("template");
      template.innerHTML = html;  // our own server's fragment (escaped there)
      var found = template.content.querySelectorAll('[role="option"][data-handle]');
      if (!found.length) {
        close();
        return;
      }
      var source = template.content.querySelector('[role="listbox"]');
      if (source && source.getAttribute("aria-label")) list.setAttribute("aria-label", source.getAttribute("aria-label"));
      list.textContent = "";
      found.forEach(function (option) {
        option.id = list.id + "-" + option.id;  // unique even with two comment boxes on the page
        list.appendChild(option);
      });
      fragment = typed;
      active = -1;
      list.hidden = false;
      textarea.setAttribute("aria-expanded", "true");
      textarea.removeAttribute("aria-activedescendant");
    }

    function typedMention() {
      if (textarea.selectionStart !== textarea.selectionEnd) return null;
      var before = textarea.value.slice(0, textarea.selectionStart);
      var match = TYPED.exec(before);
      if (!match) return null;
      return { prefix: match[1], start: before.length - match[1].length - 1, end: before.length };
    }

    function suggest() {
      var typed = typedMention();
      window.clearTimeout(timer);
      if (!typed) {
        close();
        return;
      }
      timer = window.setTimeout(function () {
        var number = ++asked;
        var address = url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(typed.prefix);
        fetch(address, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
          .then(function (response) {
            // Signed out meanwhile (the login page, after a redirect) or refused: no suggestions.
            return response.ok && !response.redirected ? response.text() : "";
          })
          .then(function (html) {
            if (number === asked) show(html, typed);
          }, function () {
            if (number === asked) close();
          });
      }, DEBOUNCE_MS);
    }

    function insert(option) {
      if (!fragment || !option) return;
      var text = "@" + option.getAttribute("data-handle") + " ";
      var value = textarea.value;
      textarea.value = value.slice(0, fragment.start) + text + value.slice(fragment.end);
      var caret = fragment.start + text.length;
      close();
      textarea.focus();
      textarea.setSelectionRange(caret, caret);
      // Other scripts (a draft, a counter) hear of the change as if it were typed.
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }

    textarea.addEventListener("input", function (event) {
      if (event.isTrusted) suggest();
    });
    textarea.addEventListener("click", suggest);  // the caret moved into, or out of, a mention
    textarea.addEventListener("blur", close);
    textarea.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      var all = options();
      switch (event.key) {
        case "ArrowDown":
          highlight(active + 1 >= all.length ? 0 : active + 1);
          break;
        case "ArrowUp":
          highlight(active <= 0 ? all.length - 1 : active - 1);
          break;
        case "Enter":
        case "Tab":
          if (active < 0) return;  // nothing chosen: a new line, or the next field, as usual
          insert(all[active]);
          break;
        case "Escape":
          close();
          event.stopPropagation();  // not also a menu's Escape (app.js)
          break;
        default:
          return;
      }
      event.preventDefault();
    });
    // A click on a choice inserts it; mousedown keeps the focus (and the caret) in the textarea.
    list.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    list.addEventListener("click", function (event) {
      insert(event.target.closest('[role="option"]'));
    });
  }

  function init(root) {
    if (root.matches && root.matches("textarea[data-mentions]")) attach(root);
    if (root.querySelectorAll) root.querySelectorAll("textarea[data-mentions]").forEach(attach);
  }

  init(document);
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
})();

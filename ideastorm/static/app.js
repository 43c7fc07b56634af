// Progressive enhancement only: every control works without this file.
(function () {
  "use strict";
  // Lets the style sheet hide what only a page without scripts needs (e.g. a filter form's button).
  document.documentElement.classList.add("js");

  // Escape closes the open menu (a <details>) that holds the focus, or the last one opened,
  // and gives the focus back to its summary.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelectorAll("details.dropdown[open]");
    if (!open.length) return;
    var menu = (document.activeElement && document.activeElement.closest("details.dropdown[open]")) || open[open.length - 1];
    menu.removeAttribute("open");
    var summary = menu.querySelector("summary");
    if (summary) summary.focus();
    event.preventDefault();
  });
  // The focus leaving an open menu (Tab past its last entry) closes it.
  document.addEventListener("focusin", function (event) {
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  // Opening one menu closes the others.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details.dropdown") || !menu.open) return;
    document.querySelectorAll("details.dropdown[open]").forEach(function (other) {
      if (other !== menu) other.removeAttribute("open");
    });
  }, true);

  // While a menu is open, Pico lays a transparent overlay over the page (its summary's ::before)
  // so that a click outside closes it. A click there that lands over another menu's summary
  // opens that menu too, instead of needing a second click.
  document.addEventListener("click", function (event) {
    if (!event.detail || !event.target.closest) return;  // keyboard "clicks" have no position
    var summary = event.target.closest("details.dropdown[open] > summary");
    if (!summary || !document.elementsFromPoint) return;
    var other = document.elementsFromPoint(event.clientX, event.clientY)
      .map(function (element) { return element.closest("details.dropdown > summary"); })
      .filter(function (found) { return found && found !== summary; })[0];
    if (!other) return;
    window.setTimeout(function () { other.parentElement.setAttribute("open", ""); other.focus(); }, 0);
  });

  // A filter form marked data-autosubmit applies each change at once; with htmx on the form
  // (hx-trigger="change"), htmx does it instead.
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (!form || !form.hasAttribute("data-autosubmit") || (window.htmx && form.hasAttribute("hx-get"))) return;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });
})();

(function () {
  "use strict";
  if (!window.htmx) return;
  // Swap the fragments we answer with 409 (voting closed) and 422 (invalid input):
  // they carry the message to show in place. Other errors are not swapped.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "409|422", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ];
  // A fragment that explains a failure in its place says so with X-Swap-Error (search unavailable: 503).
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.getResponseHeader("X-Swap-Error") === "true") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var box = document.getElementById("htmx-error");
    if (!box) {
      box = document.createElement("p");
      box.id = "htmx-error";
      box.className = "flash flash-error";
      box.setAttribute("role", "alert");
      document.getElementById("main").prepend(box);
    }
    box.textContent = refusalMessage(event.detail.xhr) || (document.documentElement.lang === "fr"
      ? "La requête a échoué (" + status + "). Rechargez la page et réessayez."
      : "The request failed (" + status + "). Reload the page and try again.");
  });
  // A 429 (too many requests) is an error page whose message says when to try again: show it.
  function refusalMessage(xhr) {
    if (xhr.status !== 429 || !window.DOMParser) return "";
    var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var message = page.querySelector(".error-page [role=alert]");
    return message ? message.textContent.trim() : "";
  }
})();

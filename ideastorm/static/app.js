// Progressive enhancement only: every control works without this file.
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
    box.textContent = document.documentElement.lang === "fr"
      ? "La requête a échoué (" + status + "). Rechargez la page et réessayez."
      : "The request failed (" + status + "). Reload the page and try again.";
  });
})();

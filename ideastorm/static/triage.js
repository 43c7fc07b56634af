// triage: progressive enhancement only; every control works without it.
(function () {
  "use strict";

  // The queue: "select every idea on this page", and the count in the bulk bar.
  function refresh() {
    var queue = document.getElementById("queue");
    if (!queue) return;
    var all = queue.querySelector("#select-all");
    var boxes = queue.querySelectorAll('input[type=checkbox][name="ids"]');
    var checked = 0;
    for (var i = 0; i < boxes.length; i++) if (boxes[i].checked) checked++;
    if (all) {
      all.hidden = boxes.length === 0;
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    var count = queue.querySelector(".bulk-count");
    if (count) {
      count.textContent = (count.getAttribute("data-template") || "__N__").replace("__N__", String(checked));
      count.hidden = false;
    }
    queue.classList.toggle("has-selection", checked > 0);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.closest || !target.closest("#queue")) return;
    if (target.id === "select-all") {
      var boxes = document.querySelectorAll('#queue input[type=checkbox][name="ids"]');
      for (var i = 0; i < boxes.length; i++) boxes[i].checked = target.checked;
      refresh();
    } else if (target.name === "ids") {
      refresh();
    }
  });

  // Forms that change something serious ask first; confirmed, they skip the confirmation page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm]")) return;
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    if (!form.querySelector('input[name="confirm"]')) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "confirm";
      input.value = "1";
      form.appendChild(input);
    }
  });

  document.addEventListener("htmx:afterSettle", refresh);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", refresh);
  else refresh();
})();

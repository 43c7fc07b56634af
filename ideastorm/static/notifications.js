// notifications: keeps the header's unread count fresh; progressive enhancement only (without it,
// the count is as fresh as the page).
(function () {
  "use strict";
  if (!window.htmx) return;

  // The header's link (templates/notifications/_badge.html) listens for "notifications:poll" on
  // <body> and asks notifications.count for itself again. It is only there for a signed-in member:
  // visitors never poll. The polling runs while the tab is visible, and once at once when it
  // becomes visible again, so a tab left in the background costs nothing.
  var badge = document.getElementById("nav-notifications");
  var seconds = badge ? parseInt(badge.getAttribute("data-poll-seconds"), 10) : 0;
  if (!(seconds > 0)) return;
  var timer = null;

  function poll() {
    // The link is gone when the session ended (the count answered nothing): stop for good.
    if (!document.getElementById("nav-notifications")) {
      stop();
      return;
    }
    htmx.trigger(document.body, "notifications:poll");
  }

  function start() {
    stop();
    timer = window.setInterval(poll, seconds * 1000);
  }

  function stop() {
    if (timer !== null) window.clearInterval(timer);
    timer = null;
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      poll();
      start();
    } else {
      stop();
    }
  });
  if (document.visibilityState === "visible") start();
})();

(function () {
  "use strict";
  if (!window.htmx) return;
  // "Mark read" replaces its item, button included: the focus goes to the item's link instead of
  // being lost at the top of the page.
  var pending = null;
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target.closest && event.target.closest("form.notification-read");
    if (form && form.contains(document.activeElement)) pending = form.closest(".notification").id;
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if (!pending) return;
    var link = document.getElementById(pending + "-link");
    pending = null;
    if (link) link.focus();
  });
})();

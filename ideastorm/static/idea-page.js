// idea-page: progressive enhancement only; every control works without it.
(function () {
  "use strict";

  // --- Copy link: the read-only input stays selectable without JavaScript. ---------------
  function copyText(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value);
    }
    input.select();
    return new Promise(function (resolve, reject) {
      (document.execCommand && document.execCommand("copy")) ? resolve() : reject();
    });
  }

  function initShare(root) {
    root.querySelectorAll("[data-share]").forEach(function (share) {
      if (share.dataset.ready) return;
      share.dataset.ready = "1";
      var input = share.querySelector("[data-share-input]");
      var button = share.querySelector("[data-copy-button]");
      var status = share.querySelector("[data-copy-status]");
      if (!input || !button) return;
      var label = button.textContent;
      button.hidden = false;
      input.addEventListener("focus", function () { input.select(); });
      button.addEventListener("click", function () {
        copyText(input).then(function () {
          button.textContent = button.dataset.copiedLabel;
          if (status) status.textContent = button.dataset.copiedLabel;
          window.setTimeout(function () {
            button.textContent = label;
            if (status) status.textContent = "";
          }, 2000);
        }, function () {
          input.focus();
          input.select();
        });
      });
    });
  }

  // --- Write / Preview tabs on Markdown textareas. --------------------------------------
  function initEditors(root) {
    if (!window.htmx) return;  // the preview is asked of the server through htmx
    root.querySelectorAll("[data-markdown-editor]").forEach(function (editor) {
      if (editor.dataset.ready) return;
      editor.dataset.ready = "1";
      var tablist = editor.querySelector("[data-editor-tabs]");
      var tabs = {
        write: editor.querySelector('[data-editor-tab="write"]'),
        preview: editor.querySelector('[data-editor-tab="preview"]'),
      };
      var panels = {
        write: editor.querySelector('[data-editor-panel="write"]'),
        preview: editor.querySelector('[data-editor-panel="preview"]'),
      };
      var textarea = panels.write.querySelector("textarea");
      if (!tablist || !textarea) return;
      Object.keys(panels).forEach(function (name) {
        panels[name].setAttribute("role", "tabpanel");
        panels[name].setAttribute("aria-labelledby", tabs[name].id);
      });
      tablist.hidden = false;

      function select(name, focus) {
        Object.keys(tabs).forEach(function (other) {
          var on = other === name;
          tabs[other].setAttribute("aria-selected", on ? "true" : "false");
          tabs[other].tabIndex = on ? 0 : -1;
          panels[other].hidden = !on;
        });
        if (focus) tabs[name].focus();
        if (name === "preview") {
          panels.preview.setAttribute("aria-busy", "true");
          htmx.ajax("POST", editor.dataset.previewUrl, {
            source: tabs.preview,
            target: panels.preview,
            swap: "innerHTML",
            values: { text: textarea.value },  // the CSRF header comes from <body hx-headers>
          }).then(function () {
            panels.preview.removeAttribute("aria-busy");
          });
        }
      }

      tabs.write.addEventListener("click", function () { select("write", false); });
      tabs.preview.addEventListener("click", function () { select("preview", false); });
      tablist.addEventListener("keydown", function (event) {
        if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
        event.preventDefault();
        select(tabs.write.getAttribute("aria-selected") === "true" ? "preview" : "write", true);
      });
      // The form goes back to Write when it is sent, so a refused text is shown where it is typed.
      var form = editor.closest("form");
      if (form) form.addEventListener("submit", function () { select("write", false); });
    });
  }

  function init(root) {
    initShare(root);
    initEditors(root);
  }

  init(document);
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
})();

// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // A paid send asks once more before spending ("No cancel": a sent InMail is final).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.hasAttribute("data-no-confirm")) {
        return; // e.g. "Check message": it spends nothing
      }
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
  // A form is sent once: its button is disabled while the next page loads. A courtesy only:
  // the form's one-time key is what makes a second send answer the first result.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) {
        return; // the member said no to a confirm above
      }
      if (form.getAttribute("data-sending") === "yes") {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-sending", "yes");
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
        b.disabled = true;
      });
    });
  });
  // Back to a page kept in the browser's memory (its back/forward cache). One whose form was
  // sent is stale (a compose page still offering the InMail that went out, the balance before
  // it): ask the server again, which says what became of it. Otherwise its forms can be sent
  // again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && document.querySelector("form[data-sending]")) {
      window.location.reload();
      return;
    }
    document.querySelectorAll("form[data-sending]").forEach(function (form) {
      form.removeAttribute("data-sending");
      form.querySelectorAll("button:disabled").forEach(function (b) {
        b.disabled = false;
      });
    });
  });
  // Characters left, under every text area that has a limit.
  document.querySelectorAll("textarea[maxlength]").forEach(function (area) {
    var note = document.createElement("p");
    note.className = "muted";
    note.setAttribute("aria-live", "polite");
    var update = function () {
      var left = Number(area.getAttribute("maxlength")) - area.value.length;
      note.textContent = left + " characters left";
    };
    area.insertAdjacentElement("afterend", note);
    area.addEventListener("input", update);
    update();
  });
})();

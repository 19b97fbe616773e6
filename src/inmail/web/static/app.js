// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // A paid send asks once more before spending ("No cancel": a sent InMail is final).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
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

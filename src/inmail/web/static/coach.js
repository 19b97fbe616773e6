// The message coach on the compose page: its tips follow the draft as the member types.
// Progressive enhancement only: without this file, "Check message" shows the same tips.
(function () {
  "use strict";
  var panel = document.getElementById("coach");
  var form = panel && panel.closest("form");
  if (!form) {
    return;
  }
  var url = panel.getAttribute("data-coach-url");
  var subject = form.querySelector("#subject");
  var body = form.querySelector("#body");
  var WAIT_MS = 400; // after the last keystroke: one request per pause, not per key
  var timer = null;
  var asked = 0;
  var pending = null;

  function field(name) {
    var input = form.querySelector("input[name=" + name + "]");
    return input ? input.value : "";
  }

  function blankIsEmpty(text) {
    return text.trim() === "" ? "" : text;
  }

  // The server counts characters as code points; the text area's selection counts UTF-16 units.
  function units(text, points) {
    return Array.from(text).slice(0, points).join("").length;
  }

  function showIn(tip) {
    var target = tip.getAttribute("data-field") === "subject" ? subject : body;
    if (!target) {
      return;
    }
    var start = Number(tip.getAttribute("data-start"));
    var end = Number(tip.getAttribute("data-end"));
    target.focus();
    target.setSelectionRange(units(target.value, start), units(target.value, end));
  }

  // Tips about a part of the text get a button that selects that part in its field.
  function enhance() {
    panel.querySelectorAll("li[data-start]").forEach(function (tip) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary show-span";
      button.textContent = "Show in " + tip.getAttribute("data-field");
      button.addEventListener("click", function () {
        showIn(tip);
      });
      tip.appendChild(button);
    });
  }

  function stale(yes) {
    var note = document.getElementById("coach-stale");
    if (note) {
      note.hidden = !yes;
    }
  }

  function replaceTips(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("coach-tips");
    var shown = document.getElementById("coach-tips");
    if (!fresh) {
      // Not the tips (the sign-in page, an expired form): keep the last ones, say so.
      stale(true);
      return;
    }
    stale(false);
    shown.replaceWith(document.importNode(fresh, true));
    enhance();
  }

  function check() {
    var mine = ++asked;
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    var data = new URLSearchParams();
    data.set("csrf", field("csrf"));
    data.set("to", field("to"));
    data.set("cost", field("cost"));
    data.set("subject", subject ? blankIsEmpty(subject.value) : "");
    data.set("body", blankIsEmpty(body.value));
    fetch(url, { method: "POST", body: data, signal: pending.signal, credentials: "same-origin" })
      .then(function (answer) {
        return answer.text();
      })
      .then(function (html) {
        if (mine === asked) {
          replaceTips(html);
        }
      })
      .catch(function (error) {
        if (error.name !== "AbortError") {
          stale(true);
        }
      });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, WAIT_MS);
  }

  [subject, body].forEach(function (input) {
    if (input) {
      input.addEventListener("input", later);
    }
  });
  enhance();
  if ((subject && subject.value.trim()) || body.value.trim()) {
    check(); // a draft kept on the page (a refused send, Back): its tips, not the empty draft's
  }
})();

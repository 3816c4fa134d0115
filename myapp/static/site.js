// myapp's pages: times in the viewer's time zone, "ago" kept current, and the monitor list refreshed in place.
// The pages read right without this script; it only makes them nicer. No inline script anywhere (CSP).
(function () {
  "use strict";

  var localTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function ago(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + " s ago";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min ago";
    var hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + " h " + (minutes % 60) + " min ago";
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h ago";
  }

  function showTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      el.textContent = localTime.format(new Date(el.getAttribute("datetime")));
    });
    root.querySelectorAll("time[data-ago]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      el.textContent = ago((Date.now() - at.getTime()) / 1000);
      el.title = localTime.format(at);
    });
  }

  function refreshRows(table) {
    var seconds = parseInt(table.getAttribute("data-refresh"), 10) || 15;
    var timer = setInterval(function () {
      fetch(window.location.href, { headers: { "X-Rows-Only": "1" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok || response.redirected) { clearInterval(timer); return null; }  // signed out, or gone
          return response.text();
        })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html");
          ["monitor-rows", "counts"].forEach(function (id) {
            var now = document.getElementById(id), next = fresh.getElementById(id);
            if (now && next) { now.replaceWith(next); showTimes(next); }
          });
        })
        .catch(function () { /* offline for a moment: try again next time */ });
    }, seconds * 1000);
  }

  // the monitor form shows the fields of the kind chosen (all of them without this script)
  function followKind(select) {
    function show() {
      select.form.querySelectorAll("[data-kinds]").forEach(function (el) {
        el.hidden = el.getAttribute("data-kinds").split(" ").indexOf(select.value) < 0;
      });
    }
    select.addEventListener("change", show);
    show();
  }

  // a list whose order is posted (the order of its checkboxes): its ↑ and ↓ buttons move an item
  function reorder(list) {
    list.querySelectorAll(".move").forEach(function (buttons) { buttons.hidden = false; });
    list.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-move]");
      if (!button) return;
      var item = button.closest("li");
      if (button.dataset.move === "up" && item.previousElementSibling) {
        list.insertBefore(item, item.previousElementSibling);
      } else if (button.dataset.move === "down" && item.nextElementSibling) {
        list.insertBefore(item.nextElementSibling, item);
      }
      button.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    showTimes(document);
    setInterval(function () { showTimes(document); }, 15000);
    document.querySelectorAll("table[data-refresh]").forEach(refreshRows);
    document.querySelectorAll("select[data-kind-select]").forEach(followKind);
    document.querySelectorAll("[data-reorder]").forEach(reorder);
  });
})();

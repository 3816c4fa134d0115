// myapp's pages: times in the viewer's time zone, "ago" kept current, and the monitor list refreshed in place.
// The pages read right without this script; it only makes them nicer. No inline script anywhere (CSP).
(function () {
  "use strict";

  // a time of today is shown as the time alone; of this year, without the year
  function formats(seconds) {
    var time = { hour: "numeric", minute: "2-digit" };
    if (seconds) time.second = "2-digit";
    return {
      today: new Intl.DateTimeFormat(undefined, time),
      year: new Intl.DateTimeFormat(undefined, Object.assign({ month: "short", day: "numeric" }, time)),
      other: new Intl.DateTimeFormat(undefined, Object.assign({ year: "numeric", month: "short", day: "numeric" }, time))
    };
  }
  var localTime = formats(false), localSeconds = formats(true);

  function local(at, format) {
    var now = new Date();
    if (at.toDateString() === now.toDateString()) return format.today.format(at);
    return (at.getFullYear() === now.getFullYear() ? format.year : format.other).format(at);
  }

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
      var format = el.getAttribute("data-local") === "seconds" ? localSeconds : localTime;
      var at = new Date(el.getAttribute("datetime"));
      el.textContent = local(at, format);
      el.title = format.other.format(at);
    });
    root.querySelectorAll("time[data-ago]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      el.textContent = ago((Date.now() - at.getTime()) / 1000);
      el.title = localTime.other.format(at);
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
            if (!now || !next) return;
            now.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {  // keep what is ticked
              var same = next.querySelector('input[name="' + box.name + '"][value="' + box.value + '"]');
              if (same) same.checked = true;
            });
            now.replaceWith(next);
            showTimes(next);
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

  // a checkbox that ticks (or unticks) every box of its name
  function tickAll(box) {
    box.hidden = false;
    box.addEventListener("change", function () {
      document.querySelectorAll('input[name="' + box.dataset.tickAll + '"]').forEach(function (other) {
        other.checked = box.checked;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    showTimes(document);
    setInterval(function () { showTimes(document); }, 15000);
    document.querySelectorAll("table[data-refresh]").forEach(refreshRows);
    document.querySelectorAll("select[data-kind-select]").forEach(followKind);
    document.querySelectorAll("[data-reorder]").forEach(reorder);
    document.querySelectorAll("input[data-tick-all]").forEach(tickAll);
    document.querySelectorAll("input[data-guess-zone]").forEach(function (input) {  // a new form: the viewer's zone
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone) input.value = zone;
    });
  });
})();

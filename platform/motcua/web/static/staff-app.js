// Motcua staff pages: live updates by short polling (no framework), progress bars, previews.
(function () {
  "use strict";
  function poll(el, every, fn) { var t = setInterval(function () { if (!document.hidden) fn(el, t); }, every); fn(el, t); }
  // A fragment that refreshes itself: data-refresh="/url" data-every="5000"
  document.querySelectorAll("[data-refresh]").forEach(function (el) {
    var every = +el.dataset.every || 5000;
    setInterval(function () {
      if (document.hidden) return;
      fetch(el.dataset.refresh, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && html !== el.innerHTML) el.innerHTML = html; });
    }, every);
  });
  // A conversation thread that appends new messages: data-thread="/url?after=" data-after="id"
  document.querySelectorAll("[data-thread]").forEach(function (el) {
    setInterval(function () {
      if (document.hidden) return;
      fetch(el.dataset.thread + el.dataset.after, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
          if (!data) return;
          data.messages.forEach(function (m) {
            var div = document.createElement("div"); div.className = "msg " + m.direction; div.dataset.id = m.id;
            div.textContent = m.text || ""; var s = document.createElement("small"); s.textContent = m.meta; div.appendChild(s);
            el.appendChild(div); el.dataset.after = m.id; el.scrollTop = el.scrollHeight;
          });
        });
    }, +el.dataset.every || 3000);
    el.scrollTop = el.scrollHeight;
  });
  // Broadcast progress: data-progress="/url.json"
  document.querySelectorAll("[data-progress]").forEach(function (el) {
    poll(el, 1000, function (el, t) {
      fetch(el.dataset.progress, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); }).then(function (p) {
          el.querySelector("progress").value = p.percent;
          el.querySelector("[data-percent]").textContent = p.percent + "%";
          ["total", "queued", "sent", "delivered", "failed", "status"].forEach(function (k) {
            var c = el.querySelector("[data-" + k + "]"); if (c) c.textContent = p[k] === null ? "…" : p[k];
          });
          if (p.done) { clearInterval(t); el.classList.add("done"); }
        });
    });
  });
  // Template preview: the form posts to data-preview and shows the result
  document.querySelectorAll("form[data-preview]").forEach(function (form) {
    var out = document.querySelector(form.dataset.target);
    function go() {
      fetch(form.dataset.preview, { method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { Accept: "application/json" } }).then(function (r) { return r.json(); })
        .then(function (d) { out.textContent = d.text || d.detail || ""; });
    }
    form.addEventListener("input", go); go();
  });
  // Canned answers: clicking one fills the reply box
  document.querySelectorAll("[data-canned]").forEach(function (sel) {
    sel.addEventListener("change", function () {
      var box = document.querySelector(sel.dataset.canned); if (sel.value) { box.value = sel.value; box.focus(); }
    });
  });
})();

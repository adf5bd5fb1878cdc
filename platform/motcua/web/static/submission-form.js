// Progressive enhancement of the submission form: autosave, instant photo upload with the
// error shown next to the paper. Without this script the form still works (full posts).
(function () {
  var form = document.getElementById("sub");
  if (!form || !window.fetch || !window.FormData) return;
  var saved = form.querySelector(".saved");
  // Not form.action: the buttons named "action" shadow that property.
  var target = form.getAttribute("action");
  var timer = null;

  function fieldsOnly(action) {
    var data = new FormData();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.tagName === "BUTTON") return;
      data.append(el.name, el.value);
    });
    data.append("action", action);
    return data;
  }

  function send(data) {
    return fetch(target, {method: "POST", body: data, headers: {"Accept": "application/json"},
                               credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (body) { return {status: r.status, body: body}; }); });
  }

  function showFieldErrors(errors) {
    form.querySelectorAll("[data-for]").forEach(function (p) {
      var name = p.getAttribute("data-for"), el = form.elements[name], msg = errors[name] || "";
      if (el && el.value === "" && !msg) { p.textContent = ""; }
      if (msg) { p.textContent = msg; p.parentNode.classList.add("invalid"); }
      else if (p.textContent && el && el.value !== "") { p.textContent = ""; p.parentNode.classList.remove("invalid"); }
    });
  }

  function renderFiles(files) {
    form.querySelectorAll(".paper").forEach(function (box) {
      var code = box.getAttribute("data-paper"), list = box.querySelector(".attached");
      list.innerHTML = "";
      files.filter(function (f) { return f.paper === code; }).forEach(function (f, i) {
        var li = document.createElement("li"), img = document.createElement("img"), b = document.createElement("button");
        img.src = f.url; img.alt = "Ảnh " + (i + 1);
        b.className = "remove"; b.name = "action"; b.value = "delete:" + f.id; b.textContent = "Xóa";
        li.appendChild(img); li.appendChild(b); list.appendChild(li);
      });
    });
  }

  function autosave() {
    send(fieldsOnly("save")).then(function (res) {
      if (res.body.errors) showFieldErrors(res.body.errors);
      if (res.status < 500) saved.textContent = "Đã tự lưu bản nháp lúc " + new Date().toLocaleTimeString("vi-VN");
    }).catch(function () { saved.textContent = "Chưa lưu được (mất kết nối?). Bản nháp sẽ lưu khi có mạng."; });
  }

  form.addEventListener("input", function (e) {
    if (e.target.type === "file") return;
    clearTimeout(timer);
    timer = setTimeout(autosave, 800);
  });

  form.addEventListener("change", function (e) {
    var input = e.target;
    if (input.type !== "file" || !input.files.length) return;
    var box = input.closest(".paper"), err = box.querySelector("[data-paper-error]");
    var max = parseInt(form.getAttribute("data-max-mb"), 10) * 1048576;
    var data = fieldsOnly("save");
    for (var i = 0; i < input.files.length; i++) {
      if (input.files[i].size > max) {
        err.textContent = "Ảnh quá lớn (tối đa " + form.getAttribute("data-max-mb") + " MB). Vui lòng chụp lại.";
        box.classList.add("invalid"); input.value = ""; return;
      }
      data.append(input.name, input.files[i], input.files[i].name);
    }
    err.textContent = "Đang tải ảnh lên…";
    box.classList.remove("invalid");
    send(data).then(function (res) {
      var msg = (res.body.paper_errors || {})[box.getAttribute("data-paper")] || res.body.detail || "";
      err.textContent = msg;
      box.classList.toggle("invalid", !!msg);
      if (res.body.files) renderFiles(res.body.files);
      input.value = "";
    }).catch(function () {
      err.textContent = "Chưa tải được ảnh (mất kết nối?). Vui lòng thử lại.";
      box.classList.add("invalid");
    });
  });

  form.addEventListener("submit", function (e) {
    var btn = e.submitter;
    if (btn && btn.value === "submit") {
      // One tap is enough: a second one would only wait for the same answer.
      setTimeout(function () { btn.disabled = true; btn.textContent = "Đang gửi…"; }, 0);
    }
  });
})();

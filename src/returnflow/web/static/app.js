// Small progressive enhancements: sub-reasons, conditional fields, live refund preview, proposals, photo limits.
(function () {
  "use strict";
  // Photo inputs (data-max-files, data-max-bytes): refuse too many or too large files before the upload starts,
  // with a message by the field; the server checks again (413 / 422).
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    function check() {
      var maxFiles = +input.dataset.maxFiles, maxBytes = +input.dataset.maxBytes, problem = "";
      if (input.files.length > maxFiles) problem = "Choose at most " + maxFiles + " photos.";
      Array.prototype.forEach.call(input.files, function (f) {
        if (!problem && f.size > maxBytes) problem = "“" + f.name + "” is larger than " + Math.round(maxBytes / 1048576) + " MB.";
      });
      input.setCustomValidity(problem);
      var note = document.getElementById(input.id + "-problem");
      if (note) note.textContent = problem;
      return !problem;
    }
    input.addEventListener("change", check);
    input.form.addEventListener("submit", function (event) {
      if (!check()) { event.preventDefault(); input.reportValidity(); }
    });
  });
  var form = document.getElementById("return-form");
  if (form) {
    var subs = JSON.parse(document.getElementById("subreasons").textContent || "{}");
    form.querySelectorAll("select.reason").forEach(function (sel) {
      var target = document.getElementById("subreason_" + sel.dataset.line);
      function fill() {
        var keep = target.value; target.innerHTML = '<option value="">—</option>';
        (subs[sel.value] || []).forEach(function (pair) {
          var o = document.createElement("option"); o.value = pair[0]; o.textContent = pair[1];
          if (pair[0] === keep) o.selected = true; target.appendChild(o);
        });
        target.disabled = !(subs[sel.value] || []).length;
      }
      sel.addEventListener("change", fill); fill();
    });
    function toggle() {
      var outcome = (form.querySelector("input[name=outcome]:checked") || {}).value;
      var ship = (form.querySelector("input[name=shipping_method]:checked") || {}).value;
      document.getElementById("exchange-box").hidden = outcome !== "exchange";
      document.getElementById("pickup-box").hidden = ship !== "pickup";
    }
    form.addEventListener("change", toggle); toggle();
    var text = document.getElementById("preview-text");
    function preview() {
      var params = new URLSearchParams(), any = false;
      form.querySelectorAll("select.qty").forEach(function (s) {
        if (s.value !== "0") {
          params.append("line_" + s.dataset.line, s.value); any = true;
          var reason = document.getElementById("reason_" + s.dataset.line);
          if (reason && reason.value) params.append("reason_" + s.dataset.line, reason.value);
        }
      });
      if (!any) { text.textContent = "Choose the units to return to see what you will get back."; return; }
      fetch("/returns/order/preview?" + params.toString(), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.error) { text.textContent = data.error; return; }
          var outcome = (form.querySelector("input[name=outcome]:checked") || {}).value;
          text.innerHTML = "";
          var strong = document.createElement("strong");
          strong.textContent = data.currency + " " + data.total;
          text.append("Refund to your original payment: ", strong);
          var credit = document.createElement("span");
          credit.textContent = " · or " + data.currency + " " + data.store_credit_total + " as store credit";
          text.append(credit);
          if (outcome === "exchange") text.append(" · an exchange costs nothing extra");
        });
    }
    form.querySelectorAll("select.qty, select.reason").forEach(function (s) { s.addEventListener("change", preview); });
    form.querySelectorAll("input[name=outcome]").forEach(function (s) { s.addEventListener("change", preview); });
    preview();
  }
  var receive = document.getElementById("receive-form");
  if (receive) {
    var proposals = JSON.parse(receive.dataset.proposals || "{}");
    receive.querySelectorAll("select.grade").forEach(function (sel) {
      sel.addEventListener("change", function () {
        document.getElementById("proposal_" + sel.dataset.line).textContent = "(proposed: " + (proposals[sel.value] || "?") + ")";
      });
    });
  }
})();

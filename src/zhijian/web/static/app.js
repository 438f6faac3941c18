/* zhijian web UI: charts from JSON blocks, auto-submitting filters. No inline scripts (CSP). */
(function () {
  "use strict";
  var charts = [];

  function drawCharts(root) {
    var els = (root || document).querySelectorAll("[data-chart]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (el.getAttribute("data-drawn")) continue;
      var src = document.getElementById(el.getAttribute("data-chart"));
      if (!src || typeof echarts === "undefined") continue;
      var opt;
      try { opt = JSON.parse(src.textContent); } catch (e) { continue; }
      var c = echarts.init(el, null, { renderer: "canvas" });
      c.setOption(opt);
      el.setAttribute("data-drawn", "1");
      charts.push(c);
    }
  }

  function wireForms(root) {
    var sel = (root || document).querySelectorAll("form[data-autosubmit] select");
    for (var i = 0; i < sel.length; i++) {
      if (sel[i].getAttribute("data-wired")) continue;
      sel[i].setAttribute("data-wired", "1");
      if (window.htmx) continue; /* htmx handles change events on the form */
      sel[i].addEventListener("change", function (ev) { ev.target.form.submit(); });
    }
    var confirms = (root || document).querySelectorAll("[data-confirm]");
    for (var j = 0; j < confirms.length; j++) {
      if (confirms[j].getAttribute("data-wired")) continue;
      confirms[j].setAttribute("data-wired", "1");
      confirms[j].addEventListener("submit", function (ev) {
        if (!window.confirm(ev.currentTarget.getAttribute("data-confirm"))) ev.preventDefault();
      });
    }
    var toggles = (root || document).querySelectorAll("[data-show-when]");
    for (var k = 0; k < toggles.length; k++) {
      (function (box) {
        var spec = box.getAttribute("data-show-when").split("=");
        var form = box.closest("form");
        if (!form) return;
        var ctl = form.querySelector("[name='" + spec[0] + "']");
        if (!ctl) return;
        var upd = function () { box.hidden = spec[1].split("|").indexOf(ctl.value) < 0; };
        ctl.addEventListener("change", upd);
        upd();
      })(toggles[k]);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    wireForms(document);
    var nav = document.getElementById("nav-toggle");
    if (nav) nav.addEventListener("click", function () {
      document.body.classList.toggle("nav-open");
    });
  });
  document.addEventListener("htmx:afterSwap", function (ev) {
    drawCharts(ev.target);
    wireForms(ev.target);
  });
  window.addEventListener("resize", function () {
    for (var i = 0; i < charts.length; i++) charts[i].resize();
  });
})();

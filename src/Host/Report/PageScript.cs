namespace Functional.Host.Report;

/// <summary>The page's few lines of script: hover readouts with the replay command, the log toggle, copy buttons,
/// the confusion cells, a sortable table and highlighting a run. Errors are written into the page (data-errors), so a
/// test that dumps the DOM sees them.</summary>
public static class PageScript
{
    public const string Js = """
        (function () {
          "use strict";
          var root = document.documentElement, errors = [];
          window.addEventListener("error", function (e) { errors.push(String(e.message)); root.setAttribute("data-errors", errors.join(" | ")); });
          function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
          function fmt(v) { return v === null ? "—" : (Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3)) ? v.toExponential(4) : String(+v.toPrecision(6)); }
          function copy(text, button) {
            function done(ok) { button.textContent = ok ? "copied" : "select and copy"; setTimeout(function () { button.textContent = "copy"; }, 1500); }
            try {
              if (navigator.clipboard && navigator.clipboard.writeText) { navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); }); return; }
            } catch (e) { }
            done(false);
          }
          function nearest(xs, x) {
            var lo = 0, hi = xs.length - 1;
            while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (xs[mid] <= x) lo = mid; else hi = mid; }
            return Math.abs(xs[hi] - x) < Math.abs(xs[lo] - x) ? hi : lo;
          }
          document.querySelectorAll("button.logt").forEach(function (b) {
            b.addEventListener("click", function () { var on = b.closest("figure").classList.toggle("log"); b.setAttribute("aria-pressed", on ? "true" : "false"); });
          });
          document.querySelectorAll("figure.chart").forEach(function (f) {
            var svg = f.querySelector("svg"), script = f.querySelector("script.points");
            if (!svg || !script) return;
            var data = JSON.parse(script.textContent), out = f.querySelector(".readout"), cursor = svg.querySelector("line.cursor");
            var x0 = +svg.dataset.x0, x1 = +svg.dataset.x1, left = +svg.dataset.left, w = +svg.dataset.w, pinned = false;
            var all = [];
            data.series.forEach(function (s) { s.xs.forEach(function (x) { all.push(x); }); });
            all = all.filter(function (x, i, a) { return a.indexOf(x) === i; }).sort(function (a, b) { return a - b; });
            var current = all.length - 1;
            function show(i) {
              current = Math.max(0, Math.min(all.length - 1, i));
              var x = all[current];
              cursor.setAttribute("x1", left + (x - x0) / (x1 - x0) * w); cursor.setAttribute("x2", cursor.getAttribute("x1"));
              cursor.setAttribute("visibility", "visible");
              out.textContent = "";
              var head = el("span", "v x", data.x + " " + fmt(x)); head.dataset.x = String(x); out.appendChild(head);
              data.series.forEach(function (s) {
                if (!s.xs.length) return;
                var k = nearest(s.xs, x);
                if (s.xs[k] !== x || s.ys[k] === null) return;
                var v = el("span", "v", s.name + ": " + fmt(s.ys[k])); v.style.borderLeft = "3px solid " + s.color; v.style.paddingLeft = "3px";
                v.dataset.name = s.name; v.dataset.y = String(s.ys[k]); out.appendChild(v);
              });
              if (data.replay) {
                var cmd = "functional replay " + data.replay + " --step " + x, line = el("div");
                line.appendChild(el("code", "replay", cmd));
                var b = el("button", "copy", "copy"); b.type = "button";
                b.addEventListener("click", function () { copy(cmd, b); });
                line.appendChild(document.createTextNode(" ")); line.appendChild(b); out.appendChild(line);
              }
            }
            function at(e) {
              var r = svg.getBoundingClientRect(), px = (e.clientX - r.left) / r.width * svg.viewBox.baseVal.width;
              var x = x0 + (px - left) / w * (x1 - x0);
              return nearest(all, x);
            }
            svg.addEventListener("pointermove", function (e) { if (!pinned) show(at(e)); });
            svg.addEventListener("click", function (e) { pinned = !pinned; show(at(e)); });
            svg.addEventListener("keydown", function (e) {
              var step = e.shiftKey ? 10 : 1;
              if (e.key === "ArrowLeft") show(current - step); else if (e.key === "ArrowRight") show(current + step);
              else if (e.key === "Home") show(0); else if (e.key === "End") show(all.length - 1); else return;
              pinned = true; e.preventDefault();
            });
            if (all.length) show(all.length - 1);
          });
          document.querySelectorAll("button.cell").forEach(function (b) {
            b.addEventListener("click", function () {
              var target = document.getElementById(b.dataset.cell), open = target && target.hidden;
              document.querySelectorAll(".cellimgs").forEach(function (d) { d.hidden = true; });
              if (target && open) target.hidden = false;
            });
          });
          document.querySelectorAll("table.runs").forEach(function (t) {
            var body = t.tBodies[0];
            t.querySelectorAll("th button").forEach(function (b, col) {
              b.addEventListener("click", function () {
                var rows = Array.prototype.slice.call(body.rows), up = b.dataset.dir !== "up";
                rows.sort(function (r, s) {
                  var a = r.cells[col].dataset.v, c = s.cells[col].dataset.v;
                  var d = (a !== undefined && c !== undefined) ? (+a) - (+c) : r.cells[col].textContent.localeCompare(s.cells[col].textContent, undefined, { numeric: true });
                  return up ? d : -d;
                });
                rows.forEach(function (r) { body.appendChild(r); });
                t.querySelectorAll("th button").forEach(function (o) { delete o.dataset.dir; o.closest("th").removeAttribute("aria-sort"); });
                b.dataset.dir = up ? "up" : "down"; b.closest("th").setAttribute("aria-sort", up ? "ascending" : "descending");
              });
            });
            Array.prototype.forEach.call(body.rows, function (r) {
              function pick() {
                var on = !r.classList.contains("sel");
                document.querySelectorAll(".sel").forEach(function (e) { e.classList.remove("sel"); });
                if (on) document.querySelectorAll('[data-run="' + r.dataset.run + '"]').forEach(function (e) { e.classList.add("sel"); });
                document.body.classList.toggle("has-sel", on);
              }
              r.addEventListener("click", pick);
              r.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { pick(); e.preventDefault(); } });
            });
          });
          root.setAttribute("data-ready-ms", String(Math.round(performance.now())));
          root.setAttribute("data-ready", "1");
        })();
        """;
}

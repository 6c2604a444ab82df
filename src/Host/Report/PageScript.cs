namespace Functional.Host.Report;

/// <summary>The page's script: hover readouts with the replay command, zoom (kept in the address), the log toggle, copy buttons,
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
          // The SVG namespace from the page's own charts: the page holds no address, not even a namespace's.
          var NS = (document.querySelector("svg") || {}).namespaceURI, charts = [];
          function svgEl(tag, attrs, text) {
            var e = document.createElementNS(NS, tag);
            for (var k in attrs) e.setAttribute(k, attrs[k]);
            if (text != null) e.textContent = text;
            return e;
          }
          function ticks(a, b, integer) {
            var raw = (b - a) / 5, p = Math.pow(10, Math.floor(Math.log10(raw))), step = p;
            [1, 2, 5, 10].some(function (m) { step = m * p; return step >= raw; });
            if (integer) step = Math.max(1, Math.round(step));
            var out = [];
            for (var t = Math.ceil(a / step) * step; t <= b + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : +t.toPrecision(12));
            return out;
          }
          // The page address holds the zoom of the step charts (zoom=FROM-TO) and of the epoch charts
          // (epochs=FROM-TO), so a zoomed view can be shared; other charts zoom on their own.
          var hashKey = { step: "zoom", epoch: "epochs" };
          function readHash() {
            var views = {};
            location.hash.replace(/^#/, "").split("&").forEach(function (part) {
              var m = /^(zoom|epochs)=(-?[0-9.eE+]+)-(-?[0-9.eE+]+)$/.exec(part);
              if (m && +m[3] > +m[2]) views[m[1]] = [+m[2], +m[3]];
            });
            return views;
          }
          function writeHash(views) {
            var parts = [];
            ["zoom", "epochs"].forEach(function (k) { if (views[k]) parts.push(k + "=" + views[k][0] + "-" + views[k][1]); });
            var url = location.href.split("#")[0] + (parts.length ? "#" + parts.join("&") : "");
            try { history.replaceState(null, "", url); } catch (e) { location.hash = parts.join("&"); }
          }
          function setViews(kind, view, fromHash) {
            charts.forEach(function (c) { if (c.kind === kind) c.zoom(view); });
            if (!fromHash && hashKey[kind]) { var views = readHash(); views[hashKey[kind]] = view; writeHash(views); }
          }
          document.querySelectorAll("figure.chart").forEach(function (f) {
            var svg = f.querySelector("svg"), script = f.querySelector("script.points");
            if (!svg || !script) return;
            var data = JSON.parse(script.textContent), out = f.querySelector(".readout"), cursor = svg.querySelector("line.cursor");
            var full0 = +svg.dataset.x0, full1 = +svg.dataset.x1, left = +svg.dataset.left, w = +svg.dataset.w, top = +svg.dataset.top, h = +svg.dataset.h;
            var x0 = full0, x1 = full1, zoomed = null, pinned = false, dragFrom = null, dragged = false;
            var logb = f.querySelector("button.logt"), reset = f.querySelector("button.zreset");
            var all = [];
            data.series.forEach(function (s) { s.xs.forEach(function (x) { all.push(x); }); });
            all = all.filter(function (x, i, a) { return a.indexOf(x) === i; }).sort(function (a, b) { return a - b; });
            var current = all.length - 1;
            function px(x) { return left + (x - x0) / (x1 - x0) * w; }
            function range() {
              var lo = 0, hi = all.length - 1;
              while (lo < hi && all[lo] < x0) lo++;
              while (hi > lo && all[hi] > x1) hi--;
              return [lo, hi];
            }
            function show(i) {
              var r = range();
              current = Math.max(r[0], Math.min(r[1], i));
              var x = all[current];
              cursor.setAttribute("x1", px(x)); cursor.setAttribute("x2", cursor.getAttribute("x1"));
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
            // A zoomed view is drawn here from the points beside the chart, on the axis the log toggle chose; the
            // whole view stays the SVG written by report.
            function draw() {
              var old = svg.querySelector("g.zoomed");
              if (old) old.remove();
              f.classList.toggle("zoomed", zoomed !== null);
              if (zoomed === null) return;
              var log = f.classList.contains("log"), ys = [];
              var vis = data.series.map(function (s) {
                var keep = [], n = 0;
                for (var i = 0; i < s.xs.length; i++) {
                  var inside = s.xs[i] >= x0 && s.xs[i] <= x1;
                  // One point beyond each end, so a line runs to the frame (the clip path cuts it there).
                  if (inside || (i + 1 < s.xs.length && s.xs[i + 1] >= x0 && s.xs[i] < x0) || (i > 0 && s.xs[i - 1] <= x1 && s.xs[i] > x1)) keep.push(i);
                  var y = s.ys[i];
                  if (inside && y !== null && (!log || y > 0)) { ys.push(log ? Math.log10(y) : y); n++; }
                }
                return { s: s, keep: keep, n: n };
              });
              var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
              if (!ys.length) { y0 = 0; y1 = 1; }
              if (y1 - y0 < 1e-12 * Math.max(1, Math.abs(y1))) { y0 -= 0.5; y1 += 0.5; } else { var pad = (y1 - y0) * 0.04; y0 -= pad; y1 += pad; }
              function py(y) { return top + h - (y - y0) / (y1 - y0) * h; }
              var g = svgEl("g", { "class": "zoomed", "data-from": String(x0), "data-to": String(x1) });
              g.appendChild(svgEl("rect", { "class": "frame", x: left, y: top, width: w, height: h }));
              ticks(x0, x1, data.integer).forEach(function (t) {
                g.appendChild(svgEl("line", { "class": "grid", x1: px(t), x2: px(t), y1: top, y2: top + h }));
                g.appendChild(svgEl("text", { "class": "tick xt", x: px(t), y: top + h + 15, "text-anchor": "middle", "data-v": String(t) }, fmt(t)));
              });
              var yt = ticks(y0, y1, false);
              if (log) {
                // Powers of ten, or 1, 2 and 5 times them on an axis shorter than two decades.
                var nice = [];
                [[1], [1, 2, 5]].some(function (ms) {
                  nice = [];
                  for (var k = Math.floor(y0); k <= Math.ceil(y1); k++) ms.forEach(function (m) { var t = k + Math.log10(m); if (t >= y0 && t <= y1) nice.push(t); });
                  return nice.length >= 2;
                });
                if (nice.length >= 2) yt = nice;
              }
              yt.forEach(function (t) {
                g.appendChild(svgEl("line", { "class": "grid", x1: left, x2: left + w, y1: py(t), y2: py(t) }));
                g.appendChild(svgEl("text", { "class": "tick", x: left - 5, y: py(t) + 4, "text-anchor": "end" }, fmt(log ? Math.pow(10, t) : t)));
              });
              g.appendChild(svgEl("text", { "class": "axis", x: left + w / 2, y: top + h + 36, "text-anchor": "middle" }, data.x + " " + fmt(x0) + " to " + fmt(x1) + " (zoomed)"));
              var cp = svgEl("clipPath", { id: f.id + "-z" });
              cp.appendChild(svgEl("rect", { x: left, y: top, width: w, height: h }));
              g.appendChild(cp);
              var clip = svgEl("g", { "clip-path": "url(#" + f.id + "-z)" });
              if (data.marker != null) clip.appendChild(svgEl("line", { "class": "marker", x1: px(data.marker), x2: px(data.marker), y1: top, y2: top + h }));
              vis.forEach(function (v) {
                var d = "", pen = false;
                v.keep.forEach(function (i) {
                  var y = v.s.ys[i];
                  if (y === null || (log && y <= 0)) { pen = false; return; }
                  d += (pen ? "L" : "M") + px(v.s.xs[i]).toFixed(1) + " " + py(log ? Math.log10(y) : y).toFixed(1); pen = true;
                });
                var attrs = { "class": v.s.cls, style: "stroke:" + v.s.color, d: d, "data-n": String(v.n), "data-name": v.s.name };
                if (v.s.run != null) attrs["data-run"] = String(v.s.run);
                clip.appendChild(svgEl("path", attrs));
                if (v.n <= 30) v.keep.forEach(function (i) {
                  var y = v.s.ys[i];
                  if (y !== null && (!log || y > 0) && v.s.xs[i] >= x0 && v.s.xs[i] <= x1) clip.appendChild(svgEl("circle", { "class": "dot", style: "fill:" + v.s.color, cx: px(v.s.xs[i]), cy: py(log ? Math.log10(y) : y), r: 3 }));
                });
              });
              g.appendChild(clip);
              svg.insertBefore(g, cursor);
            }
            var chart = {
              kind: data.x === "step" || data.x === "epoch" ? data.x : null,
              zoom: function (view) {
                if (view) { x0 = Math.max(full0, view[0]); x1 = Math.min(full1, view[1]); if (!(x1 > x0)) view = null; }
                if (!view) { x0 = full0; x1 = full1; }
                zoomed = view ? [x0, x1] : null;
                f.toggleAttribute("data-zoom", false);
                if (zoomed) f.setAttribute("data-zoom", x0 + "-" + x1);
                if (reset) reset.disabled = !zoomed;
                draw();
                var r = range();
                if (all.length) show(Math.max(r[0], Math.min(r[1], current)));
                if (all.length && (all[current] < x0 || all[current] > x1)) show(r[1]);
              }
            };
            charts.push(chart);
            function apply(view) { if (chart.kind) setViews(chart.kind, view, false); else chart.zoom(view); }
            // Zoom by a factor around the point the readout shows; whole steps or epochs on those axes.
            function scale(k) {
              var c = all.length ? all[current] : (x0 + x1) / 2, span = (x1 - x0) * k;
              if (span >= full1 - full0) { apply(null); return; }
              if (data.integer) span = Math.max(2, Math.round(span));
              var a = Math.max(full0, Math.min(full1 - span, c - span / 2));
              if (data.integer) a = Math.round(a);
              apply([a, a + span]);
            }
            if (logb) logb.addEventListener("click", function () { var on = f.classList.toggle("log"); logb.setAttribute("aria-pressed", on ? "true" : "false"); draw(); });
            f.querySelector("button.zin").addEventListener("click", function () { scale(0.5); });
            f.querySelector("button.zout").addEventListener("click", function () { scale(2); });
            reset.addEventListener("click", function () { apply(null); });
            function dataX(e) {
              var r = svg.getBoundingClientRect(), p = (e.clientX - r.left) / r.width * svg.viewBox.baseVal.width;
              return x0 + (p - left) / w * (x1 - x0);
            }
            function at(e) { return nearest(all, dataX(e)); }
            var band = svgEl("rect", { "class": "band", y: top, height: h, visibility: "hidden" });
            svg.insertBefore(band, cursor);
            svg.addEventListener("pointerdown", function (e) { dragFrom = dataX(e); dragged = false; try { svg.setPointerCapture(e.pointerId); } catch (err) { } });
            svg.addEventListener("pointermove", function (e) {
              if (dragFrom !== null) {
                var a = px(dragFrom), b = px(dataX(e));
                if (Math.abs(b - a) > 4) { dragged = true; band.setAttribute("x", Math.min(a, b)); band.setAttribute("width", Math.abs(b - a)); band.setAttribute("visibility", "visible"); }
              }
              if (!pinned) show(at(e));
            });
            svg.addEventListener("pointerup", function (e) {
              band.setAttribute("visibility", "hidden");
              if (dragFrom !== null && dragged) {
                var a = Math.min(dragFrom, dataX(e)), b = Math.max(dragFrom, dataX(e));
                if (data.integer) { a = Math.floor(a); b = Math.ceil(b); }
                apply([a, b]);
              }
              dragFrom = null;
            });
            svg.addEventListener("click", function (e) { if (dragged) { dragged = false; return; } pinned = !pinned; show(at(e)); });
            svg.addEventListener("keydown", function (e) {
              var step = e.shiftKey ? 10 : 1, r = range();
              if (e.key === "ArrowLeft") show(current - step); else if (e.key === "ArrowRight") show(current + step);
              else if (e.key === "Home") show(r[0]); else if (e.key === "End") show(r[1]);
              else if (e.key === "+" || e.key === "=") scale(0.5); else if (e.key === "-") scale(2);
              else if (e.key === "0" || (e.key === "Escape" && zoomed)) apply(null); else return;
              pinned = true; e.preventDefault();
            });
            if (all.length) show(all.length - 1);
          });
          function fromHash() {
            var views = readHash();
            setViews("step", views.zoom || null, true);
            setViews("epoch", views.epochs || null, true);
          }
          fromHash();
          window.addEventListener("hashchange", fromHash);
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

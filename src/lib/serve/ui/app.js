/* app.js: the page of kiln serve (source of assets.c; regenerate with
 * scripts/gen-serve-assets.py). Reads the JSON endpoints of docs/kiln-serve.md, draws the
 * samples over time per label value, shows the flame graphs the server renders in frames. */
(function () {
	"use strict";
	var $ = function (id) { return document.getElementById(id); };
	var info = null, series = null, mode = "flame";
	var COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
		"#7f7f7f", "#bcbd22", "#17becf"];

	function status(msg, ok) {
		$("status").textContent = msg || "";
		$("status").className = ok ? "ok" : "";
	}
	function get(path, params) {
		return fetch(path + "?" + params.toString()).then(function (r) {
			return r.json().then(function (j) {
				if (!r.ok)
					throw new Error(j.error || ("HTTP " + r.status));
				return j;
			});
		});
	}
	function iso(ns, up) {
		var s = Math.floor(ns / 1e9);
		if (up && ns % 1e9)
			s += 1;
		return new Date(s * 1000).toISOString().replace(".000Z", "Z");
	}
	function pct(x) { return x.toFixed(2); }
	function num(x) { return Math.round(x).toLocaleString("en-US"); }
	function td(tr, text, cls) {
		var c = document.createElement("td");
		c.textContent = text;
		if (cls)
			c.className = cls;
		tr.appendChild(c);
	}
	function fillSelect(sel, values, any) {
		var keep = sel.value;
		sel.textContent = "";
		if (any) {
			var o = document.createElement("option");
			o.value = "";
			o.textContent = "(any)";
			sel.appendChild(o);
		}
		values.forEach(function (v) {
			var o = document.createElement("option");
			o.value = v;
			o.textContent = v;
			sel.appendChild(o);
		});
		if (values.indexOf(keep) >= 0 || (any && keep === ""))
			sel.value = keep;
	}

	/* the selection's arguments: prefix "" for the main one, "a." and "b." to compare */
	function selParams(p, prefix, from, to, val) {
		if (info.mode === "store") {
			if (from.value.trim())
				p.append(prefix + "from", from.value.trim());
			if (to.value.trim())
				p.append(prefix + "to", to.value.trim());
		}
		if (val.value && $("lkey").value)
			p.append(prefix + "where", $("lkey").value + "=" + val.value);
		return p;
	}
	function mainParams() {
		return selParams(new URLSearchParams(), "", $("from"), $("to"), $("lval"));
	}

	function loadValues() {
		var key = $("lkey").value;
		document.querySelectorAll(".lkname").forEach(function (e) { e.textContent = key || "label"; });
		if (!key)
			return Promise.resolve();
		var p = new URLSearchParams();
		p.append("key", key);
		return get("/api/labels", p).then(function (j) {
			fillSelect($("lval"), j.values, true);
			fillSelect($("aval"), j.values, true);
			fillSelect($("bval"), j.values, true);
		});
	}

	function showTop() {
		var p = mainParams();
		p.append("n", "50");
		return get("/api/top", p).then(function (j) {
			var body = $("top").tBodies[0];
			body.textContent = "";
			$("flame-total").textContent = "(" + num(j.total) + " " + j.value.name + ")";
			j.functions.forEach(function (f) {
				var tr = document.createElement("tr");
				td(tr, pct(f.self_percent));
				td(tr, pct(f.total_percent));
				td(tr, num(f.self));
				td(tr, num(f.total));
				td(tr, f.name, "name");
				td(tr, f.module, "mod");
				body.appendChild(tr);
			});
			return j;
		});
	}
	function showFlame(total) {
		if (!(total > 0)) {
			$("flame").removeAttribute("src");
			status("no samples in the selection");
			return;
		}
		$("flame").src = "/api/flame.svg?" + mainParams().toString();
	}

	/* ---- CPU over time: one line per label value; drag to pick a range ---- */
	var W = 1200, H = 180, PAD = 40;
	function svgEl(name, attrs, parent) {
		var e = document.createElementNS("http://www.w3.org/2000/svg", name);
		Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
		if (parent)
			parent.appendChild(e);
		return e;
	}
	function drawChart(j) {
		var svg = $("chart"), legend = $("legend");
		series = j;
		svg.textContent = "";
		legend.textContent = "";
		var step = j.step_ns / 1e9, max = 0;
		j.groups.forEach(function (g) {
			g.samples.forEach(function (v) { max = Math.max(max, v / step); });
		});
		if (!j.nsteps || !max) {
			svgEl("text", { x: 20, y: 30 }, svg).textContent = "no samples in this range";
			return;
		}
		var x = function (i) { return PAD + (W - PAD - 10) * i / j.nsteps; };
		var y = function (v) { return H - 20 - (H - 30) * v / max; };
		svgEl("line", { x1: PAD, y1: H - 20, x2: W - 10, y2: H - 20, stroke: "#999" }, svg);
		svgEl("text", { x: 2, y: 14, "font-size": 11 }, svg).textContent = max.toFixed(max < 10 ? 1 : 0);
		svgEl("text", { x: PAD, y: H - 4, "font-size": 11 }, svg).textContent = iso(j.from_ns);
		svgEl("text", { x: W - 10, y: H - 4, "font-size": 11, "text-anchor": "end" }, svg).textContent =
			iso(j.from_ns + j.nsteps * j.step_ns, true);
		j.groups.forEach(function (g, gi) {
			var pts = g.samples.map(function (v, i) {
				return x(i) + "," + y(v / step) + " " + x(i + 1) + "," + y(v / step);
			}).join(" ");
			var col = COLORS[gi % COLORS.length];
			var line = svgEl("polyline", { points: pts, fill: "none", stroke: col, "stroke-width": 1.5 }, svg);
			line.setAttribute("data-group", g.name);
			var s = document.createElement("span"), i = document.createElement("i");
			i.style.background = col;
			s.appendChild(i);
			s.appendChild(document.createTextNode(g.name || "(none)"));
			legend.appendChild(s);
		});
		svgEl("rect", { id: "brush", x: 0, y: 0, width: 0, height: H - 20, fill: "rgba(0,0,255,0.12)" }, svg);
	}
	function chartTime(ev) {
		var r = $("chart").getBoundingClientRect();
		var f = (ev.clientX - r.left - PAD) / (W - PAD - 10);
		f = Math.max(0, Math.min(1, f));
		return series.from_ns + f * series.nsteps * series.step_ns;
	}
	function setupBrush() {
		var svg = $("chart"), start = null, x0 = 0;
		svg.addEventListener("mousedown", function (ev) {
			if (!series || !series.nsteps || !$("brush"))
				return;
			start = chartTime(ev);
			x0 = ev.clientX - svg.getBoundingClientRect().left;
		});
		svg.addEventListener("mousemove", function (ev) {
			if (start === null)
				return;
			var x1 = ev.clientX - svg.getBoundingClientRect().left, b = $("brush");
			b.setAttribute("x", Math.min(x0, x1));
			b.setAttribute("width", Math.abs(x1 - x0));
		});
		svg.addEventListener("mouseup", function (ev) {
			if (start === null)
				return;
			var end = chartTime(ev), a = Math.min(start, end), b = Math.max(start, end);
			start = null;
			if (b - a < 1e9)
				return;
			$("from").value = iso(a);
			$("to").value = iso(b, true);
			apply();
		});
	}
	function showSeries() {
		if (info.mode !== "store" || !$("skey").value)
			return Promise.resolve();
		var p = new URLSearchParams();
		p.append("key", $("skey").value);
		selParams(p, "", $("from"), $("to"), { value: "" });
		return get("/api/series", p).then(drawChart);
	}

	function apply() {
		status("loading", true);
		return Promise.all([showTop(), showSeries()]).then(function (r) {
			status("", true);
			showFlame(r[0].total);
		}).catch(function (e) { status(e.message); });
	}

	/* ---- comparing ---- */
	function diffParams() {
		var p = new URLSearchParams();
		selParams(p, "a.", $("afrom"), $("ato"), $("aval"));
		selParams(p, "b.", $("bfrom"), $("bto"), $("bval"));
		if (!$("normalize").checked)
			p.append("normalize", "0");
		return p;
	}
	function compare() {
		status("loading", true);
		var p = diffParams();
		p.append("n", "30");
		return get("/api/diff", p).then(function (j) {
			var body = $("difftable").tBodies[0];
			body.textContent = "";
			j.functions.forEach(function (f) {
				var tr = document.createElement("tr"), ch = f.self_b - f.self_a;
				td(tr, pct(f.self_a));
				td(tr, pct(f.self_b));
				td(tr, (ch >= 0 ? "+" : "") + pct(ch), ch > 0 ? "up" : ch < 0 ? "down" : "");
				td(tr, pct(f.total_a));
				td(tr, pct(f.total_b));
				td(tr, f.name, "name");
				td(tr, f.module, "mod");
				body.appendChild(tr);
			});
			$("diffflame").src = "/api/diff.svg?" + diffParams().toString();
			status("", true);
		}).catch(function (e) {
			$("difftable").tBodies[0].textContent = "";
			$("diffflame").removeAttribute("src");
			status(e.message);
		});
	}
	function showView(v) {
		mode = v;
		$("view-flame").hidden = v !== "flame";
		$("view-diff").hidden = v !== "diff";
		$("tab-flame").className = v === "flame" ? "active" : "";
		$("tab-diff").className = v === "diff" ? "active" : "";
		if (v === "diff" && info.mode === "store" && !$("afrom").value) {
			/* default: the first half of the range against the second */
			var a = info.first_ns, b = info.last_ns, mid = Math.floor((a + b) / 2e9) * 1e9;
			$("afrom").value = iso(a);
			$("ato").value = iso(mid);
			$("bfrom").value = iso(mid);
			$("bto").value = iso(b, true);
		}
	}

	/* a frame as tall as the graph it shows */
	function fitFrame(id) {
		$(id).addEventListener("load", function () {
			var d = $(id).contentDocument, h = d && d.documentElement && +d.documentElement.getAttribute("height");
			if (h > 0)
				$(id).style.height = Math.min(h + 8, 4000) + "px";
		});
	}

	function start() {
		fitFrame("flame");
		fitFrame("diffflame");
		get("/api/info", new URLSearchParams()).then(function (j) {
			info = j;
			$("source").textContent = j.mode + ": " + j.source;
			if (j.mode === "file")
				document.body.className = "file-mode";
			else if (j.last_ns) {
				$("from").value = iso(j.first_ns);
				$("to").value = iso(j.last_ns, true);
			}
			fillSelect($("lkey"), j.label_keys, false);
			fillSelect($("skey"), j.label_keys, false);
			if (j.label_keys.indexOf("service") >= 0) {
				$("lkey").value = "service";
				$("skey").value = "service";
			}
			$("lkey").addEventListener("change", function () { $("lval").value = ""; loadValues().then(apply); });
			$("skey").addEventListener("change", function () { showSeries().catch(function (e) { status(e.message); }); });
			$("apply").addEventListener("click", apply);
			$("compare").addEventListener("click", compare);
			$("tab-flame").addEventListener("click", function () { showView("flame"); });
			$("tab-diff").addEventListener("click", function () { showView("diff"); });
			setupBrush();
			return loadValues().then(apply);
		}).catch(function (e) { status(e.message); });
	}
	start();
})();

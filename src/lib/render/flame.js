/* flame.js: the viewer inside every flame graph SVG kiln writes (source of flame_js.c,
 * regenerate with scripts/gen-flame-js.py). Hover shows a frame's details, a click zooms
 * into it (ancestors full width, the rest hidden), the search box (or Ctrl-F / F3) takes
 * a regular expression, highlights matching frames and shows the share they cover
 * (nested matches counted once), Escape clears the search, then resets the zoom.
 * The SVG lists frames depth first; the tree is rebuilt from that order and the depths.
 * C (written before this script) holds the geometry. */
(function () {
	"use strict";
	var doc = document, NS = "http://www.w3.org/2000/svg";
	var details = doc.getElementById("details"), matched = doc.getElementById("matched");
	var unzoomBtn = doc.getElementById("unzoom"), search = doc.getElementById("search");
	var stext = doc.getElementById("stext"), framesEl = doc.getElementById("frames");
	var F = [], gs = framesEl.getElementsByTagName("g"), i;

	for (i = 0; i < gs.length; i++) {
		var g = gs[i], r = g.getElementsByTagName("rect")[0];
		var info = g.getElementsByTagName("title")[0].textContent, cut = info.lastIndexOf(" (");
		var f = {
			g: g, r: r, t: g.getElementsByTagName("text")[0] || null, i: i,
			info: info, name: cut > 0 ? info.slice(0, cut) : info,
			x: +r.getAttribute("x"), w: +r.getAttribute("width"), y: +r.getAttribute("y"),
			fill: r.getAttribute("fill"), parent: -1, end: i + 1, depth: 0
		};
		g.kilnFrame = f;
		F.push(f);
	}
	/* parents and subtree ends from depth-first order */
	var open = [];
	F.forEach(function (f) {
		f.depth = Math.round(Math.abs(f.y - F[0].y) / C.fh);
		while (open.length > f.depth)
			open.pop().end = f.i;
		f.parent = open.length ? open[open.length - 1].i : -1;
		open.push(f);
	});
	while (open.length)
		open.pop().end = F.length;

	function label(f, w) {
		var fit = Math.floor((w - 3) / C.cw);
		if (fit < 3)
			return "";
		return f.name.length <= fit ? f.name : f.name.slice(0, fit - 2) + "..";
	}
	function place(f, x, w) {
		f.r.setAttribute("x", x.toFixed(2));
		f.r.setAttribute("width", w.toFixed(3));
		var s = label(f, w);
		if (s && !f.t) {
			f.t = doc.createElementNS(NS, "text");
			f.t.setAttribute("y", (f.y + (C.fh - 1) / 2 + C.fs / 3).toFixed(1));
			f.g.appendChild(f.t);
		}
		if (f.t) {
			f.t.setAttribute("x", (x + 3).toFixed(2));
			f.t.textContent = s;
		}
	}
	function frameOf(node) {
		while (node && node.parentNode !== framesEl)
			node = node.parentNode;
		return node ? node.kilnFrame : null;
	}

	/* zoom */
	function unzoom() {
		unzoomBtn.classList.add("hide");
		F.forEach(function (f) {
			f.g.classList.remove("hide");
			f.g.classList.remove("parent");
			place(f, f.x, f.w);
		});
	}
	function zoom(f) {
		if (f.parent < 0) {
			unzoom();
			return;
		}
		unzoomBtn.classList.remove("hide");
		F.forEach(function (a) {
			a.g.classList.add("hide");
			a.g.classList.remove("parent");
		});
		for (var p = f.parent; p >= 0; p = F[p].parent) {
			F[p].g.classList.remove("hide");
			F[p].g.classList.add("parent");
			place(F[p], C.xpad, C.W);
		}
		/* children are packed from their parent's left edge (flame charts: at their
		 * time), so positions follow from widths, which keep four significant digits */
		var ratio = C.W / f.w, next = {};
		next[f.i] = C.xpad;
		f.g.classList.remove("hide");
		place(f, C.xpad, C.W);
		for (var k = f.i + 1; k < f.end; k++) {
			var a = F[k], w = a.w * ratio, x;
			if (C.chart)
				x = C.xpad + (a.x - f.x) * ratio;
			else {
				x = next[a.parent];
				next[a.parent] = x + w;
			}
			next[k] = x;
			a.g.classList.remove("hide");
			place(a, x, w);
		}
	}
	framesEl.addEventListener("click", function (e) {
		var f = frameOf(e.target);
		if (f)
			zoom(f);
	});
	unzoomBtn.addEventListener("click", unzoom);
	framesEl.addEventListener("mouseover", function (e) {
		var f = frameOf(e.target);
		if (f)
			details.textContent = C.nametype + " " + f.info;
	});
	framesEl.addEventListener("mouseout", function () {
		details.textContent = " ";
	});

	/* search */
	var term = "", active = false, timer = 0;
	function show() {
		stext.textContent = term || active ? term + (active ? "|" : "") : "Search (regex, Ctrl-F)";
		stext.setAttribute("fill", term || active ? "#000" : "#888");
	}
	function run() {
		var re = null, sum = 0, until = -1;
		if (term) {
			try {
				re = new RegExp(term);
			} catch (err) {
				matched.textContent = "invalid regular expression";
				return;
			}
		}
		F.forEach(function (f) {
			var hit = re !== null && re.test(f.name);
			f.r.setAttribute("fill", hit ? "#e600e6" : f.fill);
			if (hit && f.i >= until) {
				sum += f.w;
				until = f.end;
			}
		});
		matched.textContent = re && F.length ? "Matched: " + (100 * sum / F[0].w).toFixed(1) + "%" : " ";
	}
	function setTerm(s) {
		term = s;
		show();
		clearTimeout(timer);
		timer = setTimeout(run, 120);
	}
	function focus(on) {
		active = on;
		if (on)
			search.classList.add("on");
		else
			search.classList.remove("on");
		show();
	}
	search.addEventListener("click", function (e) {
		e.stopPropagation();
		focus(true);
	});
	doc.addEventListener("click", function (e) {
		if (active && !search.contains(e.target))
			focus(false);
	});
	doc.addEventListener("keydown", function (e) {
		var k = e.key;
		if (((e.ctrlKey || e.metaKey) && (k === "f" || k === "F")) || k === "F3") {
			e.preventDefault();
			focus(true);
			return;
		}
		if (!active) {
			if (k === "Escape")
				unzoom();
			return;
		}
		if (e.ctrlKey || e.metaKey || e.altKey)
			return;
		if (k === "Escape") {
			focus(false);
			setTerm("");
		} else if (k === "Enter") {
			focus(false);
		} else if (k === "Backspace") {
			setTerm(term.slice(0, -1));
		} else if (k.length === 1) {
			setTerm(term + k);
		} else {
			return;
		}
		e.preventDefault();
	});
	doc.addEventListener("paste", function (e) {
		if (active && e.clipboardData) {
			setTerm(term + e.clipboardData.getData("text").replace(/[\r\n]/g, ""));
			e.preventDefault();
		}
	});
})();

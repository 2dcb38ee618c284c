/* flame-viewer.js: drives the viewer script of an SVG written by `kiln flame` in jsdom:
 * hover, zoom, reset, search (regex, nested matches counted once), keyboard.
 *   NODE_PATH=/usr/share/nodejs node flame-viewer.js FILE.svg
 * The SVG must come from: "main;parse;read 30 / main;parse 10 / main;eval;add 50 /
 * main;eval;mul 8 / main;eval;mul;tiny 2 / main;add;add 20" (see t0204). */
"use strict";
const { JSDOM } = require("jsdom");
const fs = require("fs");
const assert = require("assert");

const dom = new JSDOM(fs.readFileSync(process.argv[2], "utf8"), {
	contentType: "image/svg+xml", runScripts: "outside-only" });
const w = dom.window, d = w.document;
const errors = [];
w.addEventListener("error", (e) => errors.push(e.message));
/* jsdom runs no SVG <script>: run it as a browser would, after the document loaded */
w.eval(d.getElementsByTagName("script")[0].textContent);

const gs = Array.from(d.getElementById("frames").getElementsByTagName("g"));
const byName = (n) => gs.filter((g) => g.querySelector("title").textContent.startsWith(n + " ("));
const one = (n) => { const a = byName(n); assert.strictEqual(a.length, 1, n); return a[0]; };
const rect = (g) => g.querySelector("rect");
const num = (g, a) => +rect(g).getAttribute(a);
const hidden = (g) => (g.getAttribute("class") || "").includes("hide");
const label = (g) => { const t = g.querySelector("text"); return t ? t.textContent : ""; };
const fire = (el, type, init) => el.dispatchEvent(new w.MouseEvent(type, Object.assign({ bubbles: true }, init)));
const key = (k, ctrl) => d.dispatchEvent(new w.KeyboardEvent("keydown", { key: k, ctrlKey: !!ctrl, bubbles: true }));
const near = (a, b, what) => assert.ok(Math.abs(a - b) < 0.02, `${what}: ${a} != ${b}`);

const W = num(one("all"), "width"), X0 = num(one("all"), "x");
const total = 120;

/* hover shows the details line */
fire(rect(one("eval")), "mouseover");
assert.ok(d.getElementById("details").textContent.startsWith("Function: eval (60 samples, 50.00%"),
	d.getElementById("details").textContent);
fire(rect(one("eval")), "mouseout");
assert.strictEqual(d.getElementById("details").textContent.trim(), "");

/* "tiny" is too narrow for a label before zooming */
assert.strictEqual(label(one("tiny")), "");

/* click zooms: eval full width, ancestors full width and faded, others hidden */
fire(rect(one("eval")), "click");
near(num(one("eval"), "width"), W, "eval width");
near(num(one("eval"), "x"), X0, "eval x");
for (const n of ["all", "main"]) {
	near(num(one(n), "width"), W, n + " width");
	assert.ok(one(n).getAttribute("class").includes("parent"), n + " is a parent");
	assert.ok(!hidden(one(n)));
}
for (const n of ["parse", "read"])
	assert.ok(hidden(one(n)), n + " hidden");
assert.strictEqual(byName("add").filter((g) => !hidden(g)).length, 1, "only eval's add shows");
/* children scaled and packed: add 50/60, mul 10/60 after it */
const evalAdd = byName("add").find((g) => !hidden(g));
near(num(evalAdd, "width"), W * 50 / 60, "add width");
near(num(evalAdd, "x"), X0, "add x");
near(num(one("mul"), "x"), X0 + W * 50 / 60, "mul x");
near(num(one("tiny"), "width"), W * 2 / 60, "tiny width");
assert.strictEqual(label(one("tiny")), "tiny", "a label appears once the frame is wide enough");
assert.ok(!d.getElementById("unzoom").getAttribute("class").includes("hide"));

/* search: Ctrl-F, type, the matched share counts nested matches once */
key("f", true);
for (const c of "add|mul") key(c);
assert.strictEqual(d.getElementById("stext").textContent, "add|mul|");
setTimeout(() => {
	/* eval;add 50 + eval;mul 10 (tiny inside mul) + main;add 20 (add;add nested) = 80 */
	assert.strictEqual(d.getElementById("matched").textContent, "Matched: " + (100 * 80 / total).toFixed(1) + "%");
	for (const g of byName("add").concat(byName("mul")))
		assert.strictEqual(rect(g).getAttribute("fill"), "#e600e6");
	assert.notStrictEqual(rect(one("parse")).getAttribute("fill"), "#e600e6");
	/* a bad regular expression says so */
	key("(");
	setTimeout(() => {
		assert.strictEqual(d.getElementById("matched").textContent, "invalid regular expression");
		/* Escape clears the search, a second Escape resets the zoom */
		key("Escape");
		setTimeout(() => {
			assert.strictEqual(d.getElementById("matched").textContent.trim(), "");
			assert.notStrictEqual(rect(one("mul")).getAttribute("fill"), "#e600e6");
			key("Escape");
			for (const g of gs)
				assert.ok(!hidden(g) && !(g.getAttribute("class") || "").includes("parent"));
			near(num(one("main"), "width"), W, "main after reset");
			near(num(one("eval"), "width"), W * 60 / total, "eval after reset");
			assert.ok(d.getElementById("unzoom").getAttribute("class").includes("hide"));
			/* clicking the root also resets */
			fire(rect(one("parse")), "click");
			assert.ok(hidden(one("eval")));
			fire(rect(one("all")), "click");
			assert.ok(!hidden(one("eval")));
			assert.deepStrictEqual(errors, []);
			console.log("viewer ok");
		}, 200);
	}, 200);
}, 200);

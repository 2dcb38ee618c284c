/* serve-browser.js: drives kiln serve's page in headless chromium (puppeteer-core):
 * picks a range (a store) and a label, checks the flame graph and the table show the
 * expected top function, clicks a frame to zoom, opens the comparison. A failure leaves
 * a screenshot in OUTDIR/fail.png.
 *   KILN_NPM=... node serve-browser.js URL OUTDIR KEY VALUE TOP ZOOM [A_VALUE B_VALUE] [FROM TO]
 * KEY=VALUE is the label to pick, TOP the function expected first in the table (by self)
 * and drawn, ZOOM a frame to click; the comparison takes label values A_VALUE and
 * B_VALUE (a store: the first and second half of FROM..TO). */
"use strict";
const path = require("path");
const assert = require("assert");
const puppeteer = require(path.join(process.env.KILN_NPM, "puppeteer-core"));
const [url, outdir, key, value, top, zoom, aval, bval, from, to] = process.argv.slice(2);

async function frameOf(page, id) {
	const h = await page.$("#" + id);
	const f = await h.contentFrame();
	await f.waitForSelector("#frames g", { timeout: 30000 });
	return f;
}
/* the drawn frames of an SVG: name, x, width */
function boxes(f) {
	return f.$$eval("#frames g", (gs) => gs.map((g) => {
		const t = g.querySelector("title").textContent, r = g.querySelector("rect");
		return { name: t.slice(0, t.lastIndexOf(" (")), x: +r.getAttribute("x"), w: +r.getAttribute("width"),
			 hidden: (g.getAttribute("class") || "").includes("hide") };
	}));
}

(async () => {
	const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
		headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
	const page = await browser.newPage();
	const errors = [];
	page.on("pageerror", (e) => errors.push("page error: " + e.message));
	page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
	try {
		await page.setViewport({ width: 1400, height: 1000 });
		await page.goto(url, { waitUntil: "networkidle0", timeout: 60000 });
		await page.waitForSelector("#top tbody tr", { timeout: 30000 });
		const info = await page.evaluate(() => fetch("/api/info").then((r) => r.json()));
		if (info.mode === "store" && from) { /* pick a range */
			await page.$eval("#from", (e, v) => { e.value = v; }, from);
			await page.$eval("#to", (e, v) => { e.value = v; }, to);
		}
		/* pick a label */
		await page.select("#lkey", key);
		await page.waitForFunction((v) => [...document.querySelectorAll("#lval option")].some((o) => o.value === v),
			{ timeout: 30000 }, value);
		await page.select("#lval", value);
		await page.click("#apply");
		await page.waitForFunction((k, v) => document.getElementById("flame").src.includes(
			"where=" + encodeURIComponent(k + "=" + v)), { timeout: 30000 }, key, value);
		await page.waitForFunction(() => document.getElementById("status").textContent === "", { timeout: 30000 });
		if (info.mode === "store") {
			/* the range reached the requests, and the chart has a line per service */
			const src = await page.$eval("#flame", (e) => e.src);
			assert.ok(!from || src.includes("from=" + encodeURIComponent(from)), "the range is in " + src);
			const groups = await page.$$eval("#chart polyline", (ls) => ls.map((l) => l.getAttribute("data-group")));
			assert.ok(groups.length >= 1, "the chart draws a line per value: " + groups.join(","));
		}
		const first = await page.$eval("#top tbody tr td.name", (e) => e.textContent);
		assert.strictEqual(first, top, "the table's first function");
		let f = await frameOf(page, "flame");
		let b = await boxes(f);
		const all = b.find((x) => x.name === "all");
		const tops = b.filter((x) => x.name === top);
		assert.ok(all && tops.length, "the flame graph draws " + top);
		assert.ok(tops.reduce((s, x) => s + x.w, 0) > all.w * 0.3, top + " is wide");
		/* the label was applied: the process frame under "all" is the picked one (comm) */
		if (key === "comm")
			assert.ok(b.some((x) => x.name === value && Math.abs(x.w - all.w) < 0.5), "rooted at " + value);
		/* click a frame: it zooms to the full width */
		const z = b.findIndex((x) => x.name === zoom);
		assert.ok(z >= 0, "frame " + zoom + " drawn");
		assert.ok(b[z].w < all.w * 0.95, zoom + " is narrower than the graph before zooming");
		const gs = await f.$$("#frames g");
		await (await gs[z].$("rect")).click();
		await f.waitForFunction((i, w) => Math.abs(+document.querySelectorAll("#frames g")[i]
			.querySelector("rect").getAttribute("width") - w) < 0.5, { timeout: 10000 }, z, all.w);
		b = await boxes(f);
		assert.ok(b.some((x) => x.hidden), "frames outside the zoomed one are hidden");
		/* the comparison */
		await page.click("#tab-diff");
		await page.waitForSelector("#view-diff:not([hidden])");
		if (info.mode === "store" && from) {
			const a = Date.parse(from), c = Date.parse(to), mid = new Date(Math.floor((a + c) / 2000) * 1000)
				.toISOString().replace(".000Z", "Z");
			await page.$eval("#afrom", (e, v) => { e.value = v; }, from);
			await page.$eval("#ato", (e, v) => { e.value = v; }, mid);
			await page.$eval("#bfrom", (e, v) => { e.value = v; }, mid);
			await page.$eval("#bto", (e, v) => { e.value = v; }, to);
		}
		if (aval)
			await page.select("#aval", aval);
		if (bval)
			await page.select("#bval", bval);
		await page.click("#compare");
		await page.waitForSelector("#difftable tbody tr", { timeout: 30000 });
		f = await frameOf(page, "diffflame");
		b = await boxes(f);
		assert.ok(b.length > 2, "the differential graph draws frames");
		const title = await f.$eval("title", (e) => e.textContent).catch(() => "");
		const rows = await page.$$eval("#difftable tbody tr", (trs) => trs.length);
		if (info.mode === "store") {
			/* a drag across the chart picks a range: the inputs and the graph follow */
			await page.click("#tab-flame");
			const r = await (await page.$("#chart")).boundingBox();
			const before = await page.$eval("#from", (e) => e.value);
			/* from the chart's left edge (the store's first window: samples there) */
			await page.mouse.move(r.x + 3, r.y + r.height / 2);
			await page.mouse.down();
			await page.mouse.move(r.x + r.width * 0.3, r.y + r.height / 2, { steps: 5 });
			await page.mouse.up();
			await page.waitForFunction((b) => document.getElementById("from").value !== b &&
				document.getElementById("flame").src.includes("from=" + encodeURIComponent(
					document.getElementById("from").value)), { timeout: 30000 }, before);
			await page.waitForFunction(() => document.getElementById("status").textContent === "", { timeout: 30000 });
			f = await frameOf(page, "flame");
			assert.ok((await boxes(f)).some((x) => x.name === top), "the picked range draws " + top);
		}
		assert.strictEqual(errors.length, 0, errors.join("; "));
		console.log(`browser ok: mode ${info.mode}, top ${first}, zoomed ${zoom}, ${rows} changed functions ${title}`);
	} catch (e) {
		await page.screenshot({ path: path.join(outdir, "fail.png"), fullPage: true }).catch(() => {});
		console.error("browser check failed: " + e.message);
		if (errors.length)
			console.error(errors.join("\n"));
		process.exitCode = 1;
	} finally {
		await browser.close();
	}
})();

/* speedscope-browser.js: opens a speedscope file in speedscope itself (the npm package's
 * release build, served on 127.0.0.1, in headless chromium through puppeteer-core), picks
 * the profile named PROFILE and its Sandwich view, and prints the view's rows as
 * "NAME<TAB>SELF" (self as speedscope shows it). Fails on a page error, an import that
 * speedscope refuses, or no such profile.
 *   KILN_NPM=... node speedscope-browser.js FILE PROFILE [SCREENSHOT.png] */
"use strict";
const path = require("path");
const http = require("http");
const fs = require("fs");
const puppeteer = require(path.join(process.env.KILN_NPM, "puppeteer-core"));
const dist = path.join(process.env.KILN_NPM, "speedscope/dist/release");
const [file, want, shot] = process.argv.slice(2);
const types = { ".html": "text/html", ".js": "application/javascript", ".css": "text/css",
		".wasm": "application/wasm", ".json": "application/json" };

const srv = http.createServer((req, res) => {
	const u = decodeURIComponent(req.url.split(/[?#]/)[0]);
	const f = u === "/profile.json" ? file : path.join(dist, path.normalize(u === "/" ? "/index.html" : u));
	fs.readFile(f, (e, d) => {
		if (e) {
			res.writeHead(404);
			res.end();
			return;
		}
		res.writeHead(200, { "Content-Type": types[path.extname(f)] || "application/octet-stream" });
		res.end(d);
	});
});
function fail(msg) {
	console.error("speedscope: " + msg);
	process.exit(1);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
srv.listen(0, "127.0.0.1", async () => {
	const base = `http://127.0.0.1:${srv.address().port}`;
	const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
		headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
	const errors = [];
	try {
		const page = await browser.newPage();
		page.on("pageerror", (e) => errors.push("page error: " + e.message));
		page.on("dialog", async (d) => { errors.push("dialog: " + d.message()); await d.dismiss(); });
		page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
		await page.setViewport({ width: 1400, height: 900 });
		await page.goto(`${base}/#profileURL=${encodeURIComponent(base + "/profile.json")}`,
			{ waitUntil: "networkidle0", timeout: 60000 });
		/* the toolbar names the profile shown: "NAME (i/n)"; 'n' shows the next one */
		let n = 0, header = "";
		for (let tries = 0; tries < 100; tries++) {
			header = await page.evaluate(() => document.body.innerText.split("\n").find((l) => / \(\d+\/\d+\)$/.test(l)) || "");
			if (header)
				break;
			await sleep(200);
		}
		if (!header)
			fail("no profile loaded" + (errors.length ? ": " + errors.join("; ") : ""));
		n = +header.match(/\/(\d+)\)$/)[1];
		for (let i = 0; i < n && !header.startsWith(want + " ("); i++) {
			await page.keyboard.press("n");
			await sleep(100);
			header = await page.evaluate(() => document.body.innerText.split("\n").find((l) => / \(\d+\/\d+\)$/.test(l)) || "");
		}
		if (!header.startsWith(want + " ("))
			fail(`no profile named '${want}' among ${n}`);
		const [btn] = await page.$$("xpath/.//div[contains(text(), 'Sandwich')]");
		if (!btn)
			fail("no Sandwich button");
		await btn.click();
		await sleep(1000);
		if (shot)
			await page.screenshot({ path: shot });
		const text = await page.evaluate(() => document.body.innerText);
		const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length);
		const at = lines.findIndex((l) => /^Total\s+Self\s+Symbol Name$/.test(l));
		if (at < 0)
			fail("no Sandwich table");
		/* rows: total, self, name */
		for (let i = at + 1; i + 2 < lines.length && /^[\d.]+\S* \(/.test(lines[i]); i += 3)
			console.log(lines[i + 2] + "\t" + lines[i + 1].replace(/ \(.*/, ""));
		if (errors.length)
			fail(errors.join("; "));
	} finally {
		await browser.close();
		srv.close();
	}
});

/* flame_npm.js: folded stacks -> SVG with the `flamegraph` npm package (thlorenz's
 * JavaScript port of FlameGraph's flamegraph.pl), the competitor in bench/flame.sh.
 *   NODE_PATH=DIR/node_modules node flame_npm.js IN.folded > out.svg
 * The package reads `perf script` text or V8 .cpuprofile trees, not folded stacks: the
 * folded lines become a .cpuprofile tree here (one node per distinct stack prefix), and
 * the package lays out and writes the SVG as flamegraph.pl does (sort, flow, narrow
 * frames removed). */
"use strict";
const fs = require("fs");
const fg = require("flamegraph");

const text = fs.readFileSync(process.argv[2], "utf8");
const head = { functionName: "all", url: "", lineNumber: 0, hitCount: 0, children: [], kids: new Map() };
let start = 0;
while (start < text.length) {
	let end = text.indexOf("\n", start);
	if (end < 0)
		end = text.length;
	const line = text.slice(start, end);
	start = end + 1;
	const sp = line.lastIndexOf(" ");
	if (sp <= 0)
		continue;
	const count = Number(line.slice(sp + 1));
	if (!(count > 0))
		continue;
	let node = head;
	for (const f of line.slice(0, sp).split(";")) {
		let k = node.kids.get(f);
		if (!k) {
			k = { functionName: f, url: "", lineNumber: 0, hitCount: 0, children: [], kids: new Map() };
			node.kids.set(f, k);
			node.children.push(k);
		}
		node = k;
	}
	node.hitCount += count;
}
process.stdout.write(fg.fromCpuProfile({ head: head }, {}));

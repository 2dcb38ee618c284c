// check-speedscope.js FILE: validates FILE against speedscope's own file-format schema
// (from the speedscope npm package, with ajv) and the rules its importer relies on:
// equal samples and weights lengths, frame indexes in range, balanced evented profiles.
// Prints one line per profile "NAME<TAB>UNIT<TAB>SAMPLES<TAB>TOTAL WEIGHT"; exits 1 with
// the reason when the file breaks a rule.
//   check-speedscope.js FILE PROFILE: instead, "FRAME<TAB>SELF" for every frame entry of the
//   sampled profile named PROFILE (the weight of its samples that end in that entry), most
//   first: the rows of speedscope's Sandwich view, which groups by frame entry.
'use strict';
const fs = require('fs');
const path = require('path');
// KILN_NPM: the node_modules that tests/npm/setup.sh installed
const nm = process.env.KILN_NPM;
const Ajv = require(path.join(nm, 'ajv'));
const schemaPath = path.join(nm, 'speedscope/dist/release/file-format-schema.json');
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
const doc = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: false });
const validate = ajv.compile(schema);
function fail(msg) {
	console.error('speedscope check: ' + msg);
	process.exit(1);
}
if (!validate(doc))
	fail('schema: ' + ajv.errorsText(validate.errors));
const nframes = doc.shared.frames.length;
for (const p of doc.profiles) {
	let total = 0, n = 0;
	if (p.type === 'sampled') {
		if (p.samples.length !== p.weights.length)
			fail(`profile '${p.name}': ${p.samples.length} samples, ${p.weights.length} weights`);
		for (const s of p.samples)
			for (const f of s)
				if (!Number.isInteger(f) || f < 0 || f >= nframes)
					fail(`profile '${p.name}': frame index ${f} out of range`);
		for (const w of p.weights)
			total += w;
		n = p.samples.length;
		if (p.endValue - p.startValue < total - 1e-6 * total)
			fail(`profile '${p.name}': endValue - startValue < total weight`);
	} else {
		const open = [];
		let last = -Infinity;
		for (const e of p.events) {
			if (e.at < last)
				fail(`profile '${p.name}': events out of order`);
			last = e.at;
			if (e.frame < 0 || e.frame >= nframes)
				fail(`profile '${p.name}': frame index out of range`);
			if (e.type === 'O')
				open.push(e.frame);
			else if (open.pop() !== e.frame)
				fail(`profile '${p.name}': unbalanced events`);
		}
		if (open.length)
			fail(`profile '${p.name}': frames left open`);
		n = p.events.length;
	}
	if (process.argv[3] === undefined)
		console.log(`${p.name}\t${p.unit}\t${n}\t${total}`);
}
if (process.argv[3] !== undefined) {
	const p = doc.profiles.find((q) => q.name === process.argv[3] && q.type === 'sampled');
	if (!p)
		fail(`no sampled profile named '${process.argv[3]}'`);
	const self = new Map();
	p.samples.forEach((s, i) => {
		if (s.length)
			self.set(s[s.length - 1], (self.get(s[s.length - 1]) || 0) + p.weights[i]);
	});
	[...self.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])
		.forEach(([f, w]) => console.log(doc.shared.frames[f].name + '\t' + w));
}

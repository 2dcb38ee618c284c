// check-cpuprofile.js FILE: checks a .cpuprofile as Chrome DevTools' and node's loaders
// use it: unique positive node ids, children that are nodes, one root, every sample a
// node, as many time deltas as samples, none negative. Prints "FUNCTION<TAB>SELF" per
// function as DevTools' bottom-up view groups them: by callUID (name, script, line and
// column of the callFrame), most first; so a function split over several callFrames shows
// as several rows, as it would there.
'use strict';
const fs = require('fs');
const prof = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
function fail(msg) {
	console.error('cpuprofile check: ' + msg);
	process.exit(1);
}
const byId = new Map();
for (const n of prof.nodes) {
	if (!Number.isInteger(n.id) || n.id <= 0 || byId.has(n.id))
		fail('bad or repeated node id ' + n.id);
	if (!n.callFrame || typeof n.callFrame.functionName !== 'string')
		fail('node ' + n.id + ' has no callFrame.functionName');
	byId.set(n.id, n);
}
const parent = new Map();
for (const n of prof.nodes)
	for (const c of n.children || []) {
		if (!byId.has(c))
			fail('node ' + n.id + ' has unknown child ' + c);
		if (parent.has(c))
			fail('node ' + c + ' has two parents');
		parent.set(c, n.id);
	}
const roots = prof.nodes.filter(n => !parent.has(n.id));
if (roots.length !== 1)
	fail(roots.length + ' roots');
if (!Array.isArray(prof.samples) || !Array.isArray(prof.timeDeltas) || prof.samples.length !== prof.timeDeltas.length)
	fail('samples and timeDeltas differ in length');
if (typeof prof.startTime !== 'number' || typeof prof.endTime !== 'number' || prof.endTime < prof.startTime)
	fail('bad startTime/endTime');
const self = new Map();
let t = prof.startTime;
prof.samples.forEach((id, i) => {
	if (!byId.has(id))
		fail('sample ' + i + ' is no node');
	if (prof.timeDeltas[i] < 0)
		fail('negative time delta at ' + i);
	t += prof.timeDeltas[i];
	const cf = byId.get(id).callFrame;
	const uid = `${cf.functionName}@${cf.scriptId}:${cf.lineNumber}:${cf.columnNumber}`;
	const e = self.get(uid) || { name: cf.functionName || '(anonymous)', n: 0 };
	e.n++;
	self.set(uid, e);
});
if (t > prof.endTime)
	fail('samples after endTime');
[...self.values()].sort((a, b) => b.n - a.n || (a.name < b.name ? -1 : 1)).forEach((e) => console.log(e.name + '\t' + e.n));

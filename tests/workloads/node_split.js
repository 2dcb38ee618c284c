// node_split.js: two JavaScript functions with a split of CPU time that the program
// measures itself (tests/e2e/t1602): prints {"alpha": share, "beta": share}. CPU time
// (process.cpuUsage), not wall time: on a busy machine the wall clock also counts the
// time the process waited for a CPU, which no CPU profile sees.
function alpha(n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + i * i) % 1000003;
  return s;
}
function beta(n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s * 31 + i) % 999983;
  return s;
}
const seconds = Number(process.argv[2] || 2);
function cpu() {
  const u = process.cpuUsage();
  return u.user + u.system;
}
let ta = 0, tb = 0, acc = 0;
const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  const t0 = cpu();
  acc += alpha(300000);
  const t1 = cpu();
  acc += beta(400000);
  const t2 = cpu();
  ta += t1 - t0;
  tb += t2 - t1;
}
const tot = ta + tb;
console.log(JSON.stringify({ alpha: ta / tot, beta: tb / tot, acc }));

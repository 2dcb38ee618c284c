// node_split.js: two JavaScript functions with a split of CPU time that the program
// measures itself (tests/e2e/t1602): prints {"alpha": share, "beta": share}.
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
let ta = 0n, tb = 0n, acc = 0;
const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  const t0 = process.hrtime.bigint();
  acc += alpha(30000);
  const t1 = process.hrtime.bigint();
  acc += beta(40000);
  const t2 = process.hrtime.bigint();
  ta += t1 - t0;
  tb += t2 - t1;
}
const tot = Number(ta + tb);
console.log(JSON.stringify({ alpha: Number(ta) / tot, beta: Number(tb) / tot, acc }));

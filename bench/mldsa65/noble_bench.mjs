// The same three measurements as bench_mldsa65.c, in @noble/post-quantum (the package the
// cross-check test pins, loaded from tests/js/node_modules): keygen from fresh seeds,
// hedged signing of many different 1 KiB messages, verification of a 1 KiB message.
// Each operation is timed; figures are the medians of its CPU time (process.cpuUsage, user +
// system, so other loads on a shared machine do not count) and wall time, and the median
// over runs of each run's wall-clock ops/s.
//
//   node bench/mldsa65/noble_bench.mjs [RUNS [OPS_PER_RUN]]    (defaults 7 and 40)
//
// Lines starting with "RESULT" are for run.sh:
//   RESULT impl op wall_ops_per_s median_wall_ns median_cpu_ns
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const nobleFile = join(root, 'tests', 'js', 'node_modules', '@noble', 'post-quantum', 'ml-dsa.js');
if (!existsSync(nobleFile)) {
  console.error(`noble_bench: ${nobleFile} is missing: run scripts/setup.sh first`);
  process.exit(1);
}
const { ml_dsa65 } = await import(pathToFileURL(nobleFile).href);
const nobleVersion = JSON.parse(readFileSync(join(dirname(nobleFile), 'package.json'), 'utf8')).version;

const runs = Number(process.argv[2] ?? 7);
const per = Number(process.argv[3] ?? 40);
if (!(runs >= 1 && per >= 1)) {
  console.error('usage: node noble_bench.mjs [RUNS [OPS_PER_RUN]]');
  process.exit(2);
}
console.log(`command: node ${process.argv.slice(1).join(' ')}   (node ${process.version}, ` +
  `@noble/post-quantum ${nobleVersion})`);

const fill = (n, label) => {
  const out = new Uint8Array(n);
  for (let off = 0, i = 0; off < n; i++) {
    const block = createHash('sha256').update(`${label}:${i}`).digest();
    out.set(block.subarray(0, Math.min(32, n - off)), off);
    off += 32;
  }
  return out;
};
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const keys = ml_dsa65.keygen(fill(32, 'seed'));
const msg = fill(1024, 'msg');
const sig = ml_dsa65.sign(msg, keys.secretKey);
// Inputs are prepared outside the timed region, as in the C benchmark's fill().
const ops = {
  keygen: (i) => { const s = fill(32, `k${i}`); return () => ml_dsa65.keygen(s); },
  sign: (i) => { const m = fill(1024, `m${i}`); return () => ml_dsa65.sign(m, keys.secretKey); },
  verify: () => () => {
    if (!ml_dsa65.verify(sig, msg, keys.publicKey)) throw new Error('verify failed');
  },
};
for (const [name, make] of Object.entries(ops)) {
  for (let i = 0; i < 10; i++) make(-1 - i)(); // warm-up: let the JIT compile the hot paths
  const times = [];
  const cpus = [];
  const rates = [];
  for (let r = 0; r < runs; r++) {
    let runTime = 0;
    for (let k = 0; k < per; k++) {
      const op = make(r * per + k);
      const u0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      op();
      const dt = Number(process.hrtime.bigint() - t0);
      const du = process.cpuUsage(u0);
      times.push(dt);
      cpus.push((du.user + du.system) * 1000);
      runTime += dt;
    }
    rates.push(per * 1e9 / runTime);
  }
  const mns = median(times);
  const mcpu = median(cpus);
  const mrate = median(rates);
  console.log(`noble  ${name.padEnd(6)}  median ${(mcpu / 1e3).toFixed(1).padStart(8)} us CPU = ` +
    `${(1e9 / mcpu).toFixed(0).padStart(7)} ops/s; wall ${(mns / 1e3).toFixed(1).padStart(8)} us; ` +
    `runs ${mrate.toFixed(0).padStart(7)} ops/s  (${runs} runs x ${per})`);
  console.log(`RESULT noble ${name} ${mrate.toFixed(1)} ${Math.round(mns)} ${Math.round(mcpu)}`);
}

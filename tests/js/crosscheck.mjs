// Cross-check of libant's ML-DSA-65 against an independent implementation,
// @noble/post-quantum (pinned in package-lock.json, installed by scripts/setup.sh).
//
//   node crosscheck.mjs PATH/TO/mldsa_driver [CASES]
//
// For each random case (message 0-100 000 bytes, context 0-255 bytes, both with their
// edges forced into the first cases): keys from the same seed are identical; deterministic
// signatures are byte-identical; C signs (hedged) -> noble verifies; noble signs (hedged) ->
// C verifies; the C streaming signer and verifier, fed in random pieces, equal one-shot.
// Each direction is also checked to reject a one-bit change, so a verifier that accepts
// everything cannot pass. The PRNG seed is printed; ANT_CROSSCHECK_SEED=<hex> replays a run.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nobleFile = join(here, 'node_modules', '@noble', 'post-quantum', 'ml-dsa.js');
if (!existsSync(nobleFile)) {
  console.error(`crosscheck: ${nobleFile} is missing: run scripts/setup.sh (npm ci in tests/js)`);
  process.exit(1);
}
const { ml_dsa65 } = await import(pathToFileURL(nobleFile).href);

const driverPath = process.argv[2];
const CASES = Number(process.argv[3] ?? 200);
// Further arguments go to the driver (e.g. --portable: the ML-DSA portable backend).
const DRIVER_ARGS = process.argv.slice(4);
if (!driverPath || !existsSync(driverPath) || !(CASES > 0)) {
  console.error('usage: node crosscheck.mjs PATH/TO/mldsa_driver [CASES]');
  process.exit(2);
}

// Deterministic byte stream: SHA-256 in counter mode over the run seed.
const runSeed = process.env.ANT_CROSSCHECK_SEED
  ? Buffer.from(process.env.ANT_CROSSCHECK_SEED, 'hex')
  : randomBytes(16);
let counter = 0;
let pool = Buffer.alloc(0);
function rand(n) {
  const parts = [pool];
  let have = pool.length;
  while (have < n) {
    const block = createHash('sha256').update(runSeed).update(String(counter++)).digest();
    parts.push(block);
    have += block.length;
  }
  const all = Buffer.concat(parts);
  pool = all.subarray(n);
  return new Uint8Array(all.subarray(0, n));
}
function randInt(max) { // uniform enough in [0, max]
  return Number(Buffer.from(rand(6)).readUIntBE(0, 6) % (max + 1));
}

const hex = (u8) => (u8.length === 0 ? '-' : Buffer.from(u8).toString('hex'));
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const flipBit = (u8, bit) => {
  const c = Uint8Array.from(u8);
  c[bit >> 3] ^= 1 << (bit & 7);
  return c;
};
const equal = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

const driver = spawn(driverPath, DRIVER_ARGS, { stdio: ['pipe', 'pipe', 'inherit'] });
let driverExit = null;
driver.on('exit', (code, signal) => { driverExit = signal ?? code; });
const lines = createInterface({ input: driver.stdout })[Symbol.asyncIterator]();
async function call(...words) {
  driver.stdin.write(words.join(' ') + '\n');
  const { value, done } = await lines.next();
  if (done) throw new Error(`driver exited (${driverExit}) during: ${words[0]}`);
  const parts = value.split(' ');
  if (parts[0] !== 'ok') throw new Error(`driver: ${value} (request ${words[0]})`);
  return parts.slice(1);
}

// Edge sizes first, then uniform random ones.
const msgEdges = [0, 1, 100000, 0, 135, 136, 137, 99999];
const ctxEdges = [0, 255, 0, 255, 1, 254, 0, 255];

let passed = 0;
let failed = 0;
const t0 = performance.now();
console.log(`crosscheck: ${CASES} cases, seed ${runSeed.toString('hex')}`);
for (let i = 0; i < CASES; i++) {
  const msgLen = i < msgEdges.length ? msgEdges[i] : randInt(100000);
  const ctxLen = i < ctxEdges.length ? ctxEdges[i] : randInt(255);
  const seed = rand(32);
  const msg = rand(msgLen);
  const ctx = rand(ctxLen);
  const chunkSeed = String(randInt(2 ** 40));
  const problems = [];
  const check = (ok, what) => { if (!ok) problems.push(what); };

  // Keys from the same seed.
  const nk = ml_dsa65.keygen(seed);
  const [cpkHex, cskHex] = await call('keygen', hex(seed));
  const cpk = unhex(cpkHex);
  const csk = unhex(cskHex);
  check(equal(cpk, nk.publicKey), 'public keys differ');
  check(equal(csk, nk.secretKey), 'secret keys differ');

  // Deterministic signatures are byte-identical.
  const nDet = ml_dsa65.sign(msg, nk.secretKey, { context: ctx, extraEntropy: false });
  const [cDetHex] = await call('signdet', cskHex, hex(ctx), hex(msg));
  check(equal(unhex(cDetHex), nDet), 'deterministic signatures differ');

  // C streaming signer (random pieces) equals one-shot.
  const [cStreamHex] = await call('streamsign', cskHex, hex(ctx), hex(msg), chunkSeed);
  check(cStreamHex === cDetHex, 'streaming signature differs from one-shot');

  // C signs (hedged) -> noble verifies; a changed context is rejected by noble.
  const [cSigHex] = await call('sign', cskHex, hex(ctx), hex(msg));
  const cSig = unhex(cSigHex);
  check(!equal(cSig, unhex(cDetHex)), 'hedged C signature equals the deterministic one');
  check(ml_dsa65.verify(cSig, msg, nk.publicKey, { context: ctx }), 'noble rejects C signature');
  const ctx2 = ctxLen > 0 ? flipBit(ctx, randInt(ctxLen * 8 - 1)) : new Uint8Array([0]);
  check(!ml_dsa65.verify(cSig, msg, nk.publicKey, { context: ctx2 }),
    'noble accepts C signature under another context');

  // noble signs (hedged) -> C verifies, one-shot and streaming; C rejects one changed bit.
  const nSig = ml_dsa65.sign(msg, nk.secretKey, { context: ctx });
  const [v1] = await call('verify', cpkHex, hex(ctx), hex(msg), hex(nSig));
  check(v1 === 'valid', 'C rejects noble signature');
  const [v2] = await call('streamverify', cpkHex, hex(ctx), hex(msg), hex(nSig), chunkSeed);
  check(v2 === 'valid', 'C streaming verifier rejects noble signature');
  const badMsg = msgLen > 0 ? flipBit(msg, randInt(msgLen * 8 - 1)) : new Uint8Array([0]);
  const [v3] = await call('streamverify', cpkHex, hex(ctx), hex(badMsg), hex(nSig), chunkSeed);
  check(v3 === 'invalid', 'C streaming verifier accepts a changed message');
  const [v4] = await call('verify', cpkHex, hex(ctx), hex(msg),
    hex(flipBit(nSig, randInt(nSig.length * 8 - 1))));
  check(v4 === 'invalid', 'C accepts a signature with one bit changed');

  if (problems.length === 0) {
    passed++;
  } else {
    failed++;
    console.log(`case ${i} (msg ${msgLen} B, ctx ${ctxLen} B): ${problems.join('; ')}`);
  }
}
driver.stdin.end();
const secs = ((performance.now() - t0) / 1000).toFixed(1);
console.log(`crosscheck: ${CASES} cases in ${secs} s, seed ${runSeed.toString('hex')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed === CASES ? 0 : 1;

// Cross-check of the signed metadata format against independent code: Node's own SHA-256
// and base64, a DSSE PAE built here from the DSSE spec, and @noble/post-quantum's ML-DSA-65
// (installed in tests/js by scripts/setup.sh).
//
//   node dsse_crosscheck.mjs PATH/TO/ant-release PATH/TO/ant-keygen
//
// ant-release makes a metadata directory; this script checks that every keyid is the
// SHA-256 of its key and that every signature verifies under noble with the context
// ant-node-metadata-v1:<role> over PAE(payloadType, payload), and fails with a one-bit
// change or another role's context. Then noble signs a timestamp and ant-release verify
// must accept it, and must refuse one signed under the targets context.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nobleFile = join(here, '..', 'js', 'node_modules', '@noble', 'post-quantum', 'ml-dsa.js');
if (!existsSync(nobleFile)) {
  console.error(`dsse_crosscheck: ${nobleFile} is missing: run scripts/setup.sh (npm ci in tests/js)`);
  process.exit(1);
}
const { ml_dsa65 } = await import(pathToFileURL(nobleFile).href);
const [AR, KG] = process.argv.slice(2);
if (!AR || !KG) {
  console.error('usage: node dsse_crosscheck.mjs ANT_RELEASE ANT_KEYGEN');
  process.exit(2);
}

let failures = 0;
const check = (ok, what) => {
  if (!ok) { console.error(`FAIL: ${what}`); failures++; } else console.log(`ok: ${what}`);
};
const w = mkdtempSync(join(tmpdir(), 'ant-dsse-'));
try {
  const run = (...args) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const key = (k, ext) => join(w, 'k', k, `release-signing-key.${ext}`);
  mkdirSync(join(w, 'k'));
  for (const k of ['r1', 'r2', 't1', 's1']) run(KG, 'generate', '--out-dir', join(w, 'k', k));
  const D = join(w, 'meta');
  run(AR, 'init', '--out-dir', D, '--root-keys', `${key('r1', 'pub')},${key('r2', 'pub')}`,
      '--root-threshold', '2', '--targets-keys', key('t1', 'pub'), '--targets-threshold', '1',
      '--timestamp-keys', key('s1', 'pub'), '--timestamp-threshold', '1');
  run(AR, 'sign', '--dir', D, '--role', 'root', '--key', key('r1', 'secret'));
  run(AR, 'sign', '--dir', D, '--role', 'root', '--key', key('r2', 'secret'));
  mkdirSync(join(w, 'a'));
  writeFileSync(join(w, 'a', 'ant-node'), '#!/bin/sh\necho ant-node 0.2.0\n', { mode: 0o755 });
  run('tar', '-C', join(w, 'a'), '-czf', join(w, 'ant-node-cli-linux-x64.tar.gz'), 'ant-node');
  run(AR, 'add', '--dir', D, '--release-version', '0.2.0', '--platform', 'linux-x64',
      '--archive', join(w, 'ant-node-cli-linux-x64.tar.gz'));
  run(AR, 'sign', '--dir', D, '--role', 'targets', '--key', key('t1', 'secret'));
  run(AR, 'timestamp', '--dir', D);
  run(AR, 'sign', '--dir', D, '--role', 'timestamp', '--key', key('s1', 'secret'));

  const pae = (type, body) => Buffer.concat([
    Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
  const rootEnv = JSON.parse(readFileSync(join(D, 'root.1.json'), 'utf8'));
  const root = JSON.parse(Buffer.from(rootEnv.payload, 'base64').toString('utf8'));
  const keys = {};
  for (const [kid, k] of Object.entries(root.keys)) {
    const pk = Buffer.from(k.public, 'base64');
    check(pk.length === 1952 && createHash('sha256').update(pk).digest('hex') === kid,
          `keyid ${kid.slice(0, 16)} is the SHA-256 of its 1952-byte key`);
    keys[kid] = pk;
  }
  for (const [file, role] of [['root.1.json', 'root'], ['targets.1.json', 'targets'],
                              ['timestamp.json', 'timestamp']]) {
    const env = JSON.parse(readFileSync(join(D, file), 'utf8'));
    const type = `application/vnd.ant-node.${role}+json`;
    check(env.payloadType === type, `${file}: payloadType ${type}`);
    const body = Buffer.from(env.payload, 'base64');
    check(body.toString('base64') === env.payload, `${file}: canonical base64`);
    const payload = JSON.parse(body.toString('utf8'));
    check(payload.type === role && Number.isInteger(payload.version), `${file}: type and version`);
    const ctx = Buffer.from(`ant-node-metadata-v1:${role}`);
    const other = Buffer.from(`ant-node-metadata-v1:${role === 'targets' ? 'timestamp' : 'targets'}`);
    const m = pae(type, body);
    check(env.signatures.length >= 1, `${file}: signed`);
    for (const s of env.signatures) {
      const sig = Buffer.from(s.sig, 'base64');
      const pk = keys[s.keyid];
      check(pk !== undefined && ml_dsa65.verify(sig, m, pk, { context: ctx }),
            `${file}: noble verifies the signature of ${s.keyid.slice(0, 16)}`);
      const bad = Buffer.from(m);
      bad[bad.length - 1] ^= 1;
      check(!ml_dsa65.verify(sig, bad, pk, { context: ctx }), `${file}: one flipped bit fails`);
      check(!ml_dsa65.verify(sig, m, pk, { context: other }), `${file}: another role's context fails`);
    }
  }

  // noble signs: a timestamp re-signed by the timestamp key must be accepted by the C side.
  const anchor = join(w, 'anchor.json');
  writeFileSync(anchor, readFileSync(join(D, 'root.1.json')));
  chmodSync(anchor, 0o644);
  const tsEnv = JSON.parse(readFileSync(join(D, 'timestamp.json'), 'utf8'));
  const tsBody = Buffer.from(tsEnv.payload, 'base64');
  const sk = readFileSync(key('s1', 'secret'));
  const kid = createHash('sha256').update(readFileSync(key('s1', 'pub'))).digest('hex');
  const resign = (ctxText) => {
    const sig = ml_dsa65.sign(pae('application/vnd.ant-node.timestamp+json', tsBody), sk,
                              { context: Buffer.from(ctxText) });
    writeFileSync(join(D, 'timestamp.json'), JSON.stringify({
      payloadType: tsEnv.payloadType, payload: tsEnv.payload,
      signatures: [{ keyid: kid, sig: Buffer.from(sig).toString('base64') }] }));
    return spawnSync(AR, ['verify', '--dir', D, '--trusted-root', anchor], { encoding: 'utf8' });
  };
  let r = resign('ant-node-metadata-v1:timestamp');
  check(r.status === 0 && r.stdout.includes('state fresh'), 'ant-release verify accepts a noble-signed timestamp');
  r = resign('ant-node-metadata-v1:targets');
  check(r.status === 1 && r.stdout.includes('timestamp.json'), 'ant-release verify refuses one signed under the targets context');
} finally {
  rmSync(w, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log('dsse crosscheck passed');

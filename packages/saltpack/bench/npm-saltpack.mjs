#!/usr/bin/env node
/**
 * File-to-file encryption and decryption with the npm library @samuelthomas2774/saltpack 0.4.0,
 * through its EncryptStream/DecryptStream Node Transforms (its one-shot decrypt is quadratic,
 * specs/crypto-benchmarks.md §3). Run as its own process so its peak RSS is measured alone.
 *
 *   node npm-saltpack.mjs encrypt <keys.json> <count> <in> <out>
 *   node npm-saltpack.mjs decrypt <keys.json> <index> <in> <out>
 *
 * keys.json: { "sender": "<hex secret>", "recipients": ["<hex secret>", …] } (X25519 secrets;
 * tweetnacl derives the public halves).
 */
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { DecryptStream, EncryptStream } from '@samuelthomas2774/saltpack';
import nacl from 'tweetnacl';

const [cmd, keysFile, countOrIndex, input, output] = process.argv.slice(2);
const keys = JSON.parse(readFileSync(keysFile, 'utf8'));
const pair = (hex) => nacl.box.keyPair.fromSecretKey(Uint8Array.from(Buffer.from(hex, 'hex')));

if (cmd === 'encrypt') {
  const recipients = keys.recipients.slice(0, Number(countOrIndex)).map((h) => pair(h).publicKey);
  await pipeline(
    createReadStream(input, { highWaterMark: 1 << 20 }),
    new EncryptStream(pair(keys.sender), recipients),
    createWriteStream(output),
  );
} else if (cmd === 'decrypt') {
  await pipeline(
    createReadStream(input, { highWaterMark: 1 << 20 }),
    new DecryptStream(pair(keys.recipients[Number(countOrIndex)])),
    createWriteStream(output),
  );
} else {
  process.stderr.write('usage: npm-saltpack.mjs encrypt|decrypt …\n');
  process.exit(2);
}

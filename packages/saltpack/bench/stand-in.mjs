#!/usr/bin/env node
/**
 * A minimal file-to-file encryptor/decryptor over @saltbox/saltpack, used by bench.mjs in place
 * of the `saltbox` CLI while that CLI cannot encrypt yet. It does what the CLI's encrypt and
 * decrypt paths must do (stream a file through createEncryptStream/createDecryptStream, worker
 * engine when available), so the numbers say what the library delivers per process.
 *
 *   node stand-in.mjs keygen <keyfile>                 → prints the public key (hex)
 *   node stand-in.mjs encrypt <senderkey> <recipients-file> <in> <out> [--no-engine]
 *   node stand-in.mjs decrypt <keyfile> <in> <out> [--no-engine]
 *
 * Key files hold the 32-byte X25519 secret in hex; a recipients file holds one public key (hex)
 * per line.
 */
import { createReadStream, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import {
  boxKeyFromSecret,
  createBasicKeyring,
  createDecryptStream,
  createEncryptStream,
  fromHex,
  loadBackend,
  toHex,
} from '@saltbox/saltpack';

const [cmd, ...args] = process.argv.slice(2);
const useEngine = !args.includes('--no-engine');
const positional = args.filter((a) => !a.startsWith('--'));
const backend = await loadBackend('native');

/** The worker engine, when this build of the library has one. */
async function engine() {
  if (!useEngine) return undefined;
  try {
    const node = await import('@saltbox/saltpack/node');
    return node.createWorkerEngine();
  } catch {
    return undefined;
  }
}

const readKey = (file) => boxKeyFromSecret(backend, fromHex(readFileSync(file, 'utf8').trim()));

async function pipeFile(transform, input, output) {
  // 1 MiB reads: one chunk per Saltpack packet, so no re-chunking copies on the input side.
  const source = Readable.toWeb(createReadStream(input, { highWaterMark: 1 << 20 }));
  await source.pipeThrough(transform).pipeTo(Writable.toWeb(createWriteStream(output)));
}

if (cmd === 'keygen') {
  const secret = backend.randomBytes(32);
  writeFileSync(positional[0], toHex(secret) + '\n', { mode: 0o600 });
  process.stdout.write(toHex(boxKeyFromSecret(backend, secret).publicKey) + '\n');
} else if (cmd === 'encrypt') {
  const [senderFile, recipientsFile, input, output] = positional;
  const recipients = readFileSync(recipientsFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => fromHex(l.trim()));
  const e = await engine();
  const options = { recipients, sender: readKey(senderFile), backend };
  if (e) options.engine = e;
  await pipeFile(createEncryptStream(options), input, output);
  await e?.close();
} else if (cmd === 'decrypt') {
  const [keyFile, input, output] = positional;
  const e = await engine();
  const options = { keyring: createBasicKeyring([readKey(keyFile)]), backend };
  if (e) options.engine = e;
  await pipeFile(createDecryptStream(options), input, output);
  await e?.close();
} else {
  process.stderr.write('usage: stand-in.mjs keygen|encrypt|decrypt …\n');
  process.exit(2);
}

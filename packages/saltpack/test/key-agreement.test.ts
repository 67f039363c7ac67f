/**
 * Batched key agreement (`PayloadEngine.boxBeforeNmMany`): the worker engine shares a header's
 * X25519 + HSalsa20 work between threads. Its keys must equal the backend's `boxBeforeNm`
 * (random peers and low-order points), and a message built through it must be byte for byte
 * the message built inline from the same injected randomness, and open for every recipient.
 * The vector suite (vectors.test.ts) also re-seals every encryption vector through it.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBasicKeyring,
  decrypt,
  encrypt,
  generateBoxKey,
  inlineEngine,
  isSaltpackError,
} from '../src/index.js';
import { bytesEqual } from '../src/encoding.js';
import type { EncryptOptions, LocalBoxKey, RandomSource } from '../src/index.js';
import { createWorkerEngine } from '../src/node/index.js';
import { fromHex } from '../src/internal/bytes.js';
import { BACKEND_NAMES, backend } from './backends.js';

const native = await backend('native');

/** A deterministic random source: SHA-512(seed ‖ counter) blocks. */
function seeded(seed: number): RandomSource {
  let counter = 0;
  return {
    randomBytes(n) {
      const out = new Uint8Array(n);
      for (let o = 0; o < n; o += 64) {
        const block = native.sha512(Uint8Array.of(seed, counter >>> 8, counter & 0xff));
        counter++;
        out.set(block.subarray(0, Math.min(64, n - o)), o);
      }
      return out;
    },
  };
}

// Points of small order on Curve25519 (libsodium refuses them; the backends map them to the
// all-zero shared point, as Go's box.Precompute does).
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
].map(fromHex);

describe('worker engine key agreement', () => {
  const engine = createWorkerEngine({ threads: 2, keyAgreementThreshold: 1 });
  beforeAll(async () => {
    expect(await engine.ready()).toBe(true);
  });
  afterAll(() => engine.close());

  const recipients = Array.from({ length: 300 }, () => generateBoxKey(native));
  const hidden = (i: number): boolean => i % 20 === 3;

  it('gives the keys of the backends’ boxBeforeNm, low-order peers included', async () => {
    const secret = native.randomBytes(32);
    const peers = [...recipients.map((k) => k.publicKey), ...LOW_ORDER];
    const keys = await engine.boxBeforeNmMany(secret, peers);
    expect(keys).toHaveLength(peers.length);
    for (const name of BACKEND_NAMES) {
      const b = await backend(name);
      const inline = await inlineEngine(b).boxBeforeNmMany!(secret, peers);
      peers.forEach((p, i) => {
        expect(bytesEqual(keys[i]!, b.boxBeforeNm(p, secret))).toBe(true);
        expect(bytesEqual(inline[i]!, keys[i]!)).toBe(true);
      });
    }
  });

  it('refuses keys that are not 32 bytes', async () => {
    const err = await engine
      .boxBeforeNmMany(native.randomBytes(32), [recipients[0]!.publicKey, new Uint8Array(31)])
      .catch((e: unknown) => e);
    expect(isSaltpackError(err, 'SALTPACK_INVALID_ARGUMENT')).toBe(true);
  });

  const cases: { name: string; options: Partial<EncryptOptions> }[] = [
    { name: 'v2, anonymous sender', options: {} },
    { name: 'v2, named sender', options: { sender: generateBoxKey(native) } },
    { name: 'v1, anonymous sender', options: { version: 1 } },
  ];
  for (const { name, options } of cases) {
    it(`${name}: the same bytes as the inline path from the same randomness`, async () => {
      const plaintext = seeded(9).randomBytes(100);
      const base = {
        ...options,
        recipients: recipients.map((k, i) => ({ publicKey: k.publicKey, hidden: hidden(i) })),
        backend: native,
      };
      const inline = await encrypt(plaintext, { ...base, random: seeded(1) });
      const threaded = await encrypt(plaintext, { ...base, random: seeded(1), engine });
      expect(bytesEqual(threaded, inline)).toBe(true);
      // Another seed gives another message: the comparison above is not vacuous.
      const other = await encrypt(plaintext, { ...base, random: seeded(2), engine });
      expect(bytesEqual(other, inline)).toBe(false);
    });
  }

  it('a message built through the workers opens for every recipient', async () => {
    const plaintext = native.randomBytes(32);
    const message = await encrypt(plaintext, {
      recipients: recipients.map((k, i) => ({ publicKey: k.publicKey, hidden: hidden(i) })),
      backend: native,
      engine,
    });
    const open = async (key: LocalBoxKey, i: number): Promise<void> => {
      const { plaintext: pt, info } = await decrypt(message, {
        keyring: createBasicKeyring([key]),
        backend: native,
      });
      expect(bytesEqual(pt, plaintext)).toBe(true);
      expect(info.receiverIsHidden).toBe(hidden(i));
    };
    for (const [i, key] of recipients.entries()) await open(key, i);
  });
});

it('workers take key agreement once loaded, even if the caller never yielded to the event loop', async () => {
  // A keeper whose keys come from caches encrypts without ever waiting on I/O, so the workers'
  // "ready" messages would sit unread; readiness is also a flag in shared memory.
  const engine = createWorkerEngine({ threads: 1, keyAgreementThreshold: 1 });
  try {
    // Block this thread (no event loop turn) while the worker loads.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
    const peers = Array.from({ length: 10 }, () => generateBoxKey(native).publicKey);
    const secret = native.randomBytes(32);
    const keys = await engine.boxBeforeNmMany(secret, peers);
    expect(engine.stats.peersOnWorkers).toBeGreaterThan(0);
    peers.forEach((p, i) => {
      expect(bytesEqual(keys[i]!, native.boxBeforeNm(p, secret))).toBe(true);
    });
  } finally {
    await engine.close();
  }
}, 30_000);

/** Runs a fixture script in a child Node process (TypeScript through tsx). */
function runFixture(name: string): Promise<{ code: number | null; killed: boolean; out: string }> {
  const fixture = resolve(import.meta.dirname, 'fixtures', name);
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', fixture],
      { timeout: 20_000 },
      (_err, stdout) => {
        done({ code: child.exitCode, killed: child.killed, out: stdout.trim() });
      },
    );
  });
}

it('a worker engine given no jobs does not keep the process alive', async () => {
  // Its workers' ports must stay unreferenced once their listeners are attached; the child
  // hung before they were unreferenced after attaching.
  expect(await runFixture('idle-engine.ts')).toEqual({ code: 0, killed: false, out: '' });
}, 30_000);

it('ready() keeps the process alive until the workers have loaded', async () => {
  expect(await runFixture('ready-engine.ts')).toEqual({ code: 0, killed: false, out: 'true' });
}, 30_000);

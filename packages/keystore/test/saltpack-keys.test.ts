/**
 * Saltpack with keystore keys (in-process and through the agent): real encrypt/decrypt,
 * signcryption and signing from the saltpack package, with the keys never leaving the keystore and
 * a whole header's key operations in one round trip.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  createBasicKeyring,
  decrypt,
  defaultBackend,
  encrypt,
  generateBoxKey,
  sign,
  signcrypt,
  signcryptOpen,
  verify,
} from '@saltbox/saltpack';
import { utf8 } from '@saltbox/saltpack/encoding';
import type { KeystoreApi, KeystoreClient, LocalKeystore, ResponseOf } from '@saltbox/keystore';
import {
  inProcessClient,
  keystoreBoxKey,
  keystoreKeyring,
  keystoreSigningKey,
  kidPublicKey,
  memoryStore,
  openKeystore,
} from '@saltbox/keystore';
import type { Agent } from '@saltbox/keystore/node';
import { connectAgent, startAgent } from '@saltbox/keystore/node';
import { expectCode } from './conformance.js';
import { CHEAP_KDF, tempDir } from './helpers.js';

/** Wraps a client and counts calls per method (round trips). */
function counting(client: KeystoreApi): { api: KeystoreApi; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const api = new Proxy(client, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return (...args: unknown[]) => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { api, calls };
}

let backend: CryptoBackend;
let keystore: LocalKeystore;
let agent: Agent;
let agentClient: KeystoreClient;
let dev: ResponseOf<'createDevice'>;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  backend = await defaultBackend();
  keystore = await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF });
  await keystore.unlock({ passphrase: 'pw', create: true });
  dev = await keystore.createDevice({ name: 'd', type: 'desktop' });
  const d = await tempDir();
  removeDir = () => d.remove();
  agent = await startAgent({ socketPath: join(d.path, 'a.sock'), keystore });
  agentClient = await connectAgent(agent.socketPath);
});
afterAll(async () => {
  await agentClient.close();
  await agent.stop();
  await keystore.close();
  await removeDir();
});

const transports: [string, () => KeystoreApi][] = [
  ['in-process', () => inProcessClient(keystore)],
  ['agent', () => agentClient],
];

describe.each(transports)('saltpack with keystore keys (%s)', (_name, client) => {
  it('decrypts a 10-recipient message in two round trips', async () => {
    const others = Array.from({ length: 9 }, () => generateBoxKey(backend));
    const sender = generateBoxKey(backend);
    const recipients = [...others.map((k) => k.publicKey), kidPublicKey(dev.encryptionKid)];
    const ct = await encrypt(utf8('hello keystore'), { recipients, sender, backend });
    const { api, calls } = counting(client());
    const keyring = await keystoreKeyring(api);
    const { plaintext, info } = await decrypt(ct, { keyring, backend });
    expect(plaintext).toEqual(utf8('hello keystore'));
    expect(info.senderPublicKey).toEqual(sender.publicKey);
    expect(info.receiverPublicKey).toEqual(kidPublicKey(dev.encryptionKid));
    expect(Object.fromEntries(calls)).toEqual({
      getPublicKeyBundle: 1,
      unboxBatch: 1,
      boxBatch: 1,
    });
  });

  it('encrypts as a keystore sender to 100 recipients with one boxBatch call', async () => {
    const recips = Array.from({ length: 100 }, () => generateBoxKey(backend));
    const { api, calls } = counting(client());
    const sender = keystoreBoxKey(api, dev.encryptionKid);
    const ct = await encrypt(utf8('from the keystore'), {
      recipients: recips.map((k) => k.publicKey),
      sender,
      backend,
    });
    expect(Object.fromEntries(calls)).toEqual({ boxBatch: 1 });
    const { plaintext, info } = await decrypt(ct, {
      keyring: createBasicKeyring([recips[57]!]),
      backend,
    });
    expect(plaintext).toEqual(utf8('from the keystore'));
    expect(info.senderPublicKey).toEqual(kidPublicKey(dev.encryptionKid));
  });

  it('opens signcryption to a keystore key and signs with a keystore key', async () => {
    const signer = keystoreSigningKey(client(), dev.signingKid);
    const sealed = await signcrypt(utf8('signcrypted'), {
      receivers: [kidPublicKey(dev.encryptionKid), generateBoxKey(backend).publicKey],
      signer,
      backend,
    });
    const opened = await signcryptOpen(sealed, {
      keyring: await keystoreKeyring(client()),
      backend,
    });
    expect(opened.plaintext).toEqual(utf8('signcrypted'));

    const signed = await sign(utf8('attached'), { signer, backend });
    const v = await verify(signed, { backend });
    expect(v.message).toEqual(utf8('attached'));
    expect(v.signer.signerPublicKey).toEqual(kidPublicKey(dev.signingKid));
  });

  it('refuses Saltpack v1 MAC keys (arbitrary nonce) by default', async () => {
    const ct = await encrypt(utf8('legacy'), {
      recipients: [kidPublicKey(dev.encryptionKid)],
      sender: generateBoxKey(backend),
      version: 1,
      backend,
    });
    await expectCode(
      decrypt(ct, { keyring: await keystoreKeyring(client()), backend }),
      'KEYSTORE_REFUSED',
    );
  });

  it('refuses to box anything but zeros through the handle', async () => {
    const key = keystoreBoxKey(client(), dev.encryptionKid);
    await expectCode(
      Promise.resolve().then(() =>
        key.box(new Uint8Array(32), new Uint8Array(24), new Uint8Array(32).fill(1)),
      ),
      'KEYSTORE_REFUSED',
    );
  });
});

describe('legacy v1 opt-in', () => {
  it('decrypts v1 with keystore keys when legacySaltpackV1 is on', async () => {
    const b = await defaultBackend();
    const ks = await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF, legacySaltpackV1: true });
    await ks.unlock({ passphrase: 'pw', create: true });
    const d = await ks.createDevice({ name: 'd', type: 'bot' });
    const ct = await encrypt(utf8('legacy'), {
      recipients: [kidPublicKey(d.encryptionKid)],
      sender: generateBoxKey(b),
      version: 1,
      backend: b,
    });
    const { plaintext } = await decrypt(ct, { keyring: await keystoreKeyring(ks), backend: b });
    expect(plaintext).toEqual(utf8('legacy'));
    await ks.close();
  });
});

/**
 * Keybase's KV wrapper and metadata hash (keybase-kvstore §2.3) inside `sealKv` / `openKv`:
 * the metadata msgpack equals the reference bytes, and a value opened for another entry,
 * revision, team or writer fails with `KEYSTORE_KV_METADATA_MISMATCH`.
 */
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { bytesEqual, decodeMsgpack, toHex } from '@saltbox/saltpack/encoding';
import {
  inProcessClient,
  kidPublicKey,
  kvMetadataBytes,
  memoryStore,
  openKeystore,
} from '@saltbox/keystore';
import { CHEAP_KDF } from './helpers.js';

const backend = await defaultBackend();
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('kv entry wrapper', () => {
  it('encodes the metadata exactly as the reference vector (spec §2.3)', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const bytes = kvMetadataBytes(key, {
      teamId: 'bd1b2ab1f3b27b7a2e0d9a5e0a6f4c24',
      namespace: 'pw-manager',
      entryKey: 'geocities',
      revision: 300,
      writerUid: '295a7eea607af32040647123732bc819',
      writerEldestSeqno: 1,
      writerDeviceId: 'e5f8a0b5e0c3f3a1e7f6d9c0b2a41218',
    });
    expect(toHex(bytes)).toBe(
      '87a164d9206535663861306235653063336633613165376636643963306232613431323138a16583a8656e7472794b6579a967656f636974696573a96e616d657370616365aa70772d6d616e61676572a67465616d4944d9206264316232616231663362323762376132653064396135653061366634633234a16bc420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fa172cd012ca17301a175d9203239356137656561363037616633323034303634373132333733326263383139a17601',
    );
  });

  it('seals the wrapper around the value and refuses it for any other entry', async () => {
    const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
    await ks.unlock({ passphrase: 'correct horse battery', create: true });
    const dev = await ks.createDevice({ name: 'laptop', type: 'desktop' });
    const teamId = toHex(backend.randomBytes(15)) + '24';
    await ks.createKeyBoxes({
      key: { kind: 'team', teamId },
      generation: 'new',
      senderKid: dev.encryptionKid,
      recipients: [],
    });
    const entry = {
      namespace: 'pw-manager',
      entryKey: 'geocities',
      revision: 3,
      writerUid: toHex(backend.randomBytes(16)),
      writerEldestSeqno: 1,
      writerDeviceId: dev.deviceId,
    };
    const sealed = await ks.sealKv({
      items: [
        {
          teamId,
          generation: 1,
          signerKid: dev.signingKid,
          plaintext: utf8('all my secrets'),
          entry,
        },
      ],
    });
    const item = sealed.items[0]!;
    if (!('result' in item)) throw new Error('seal failed');
    const { nonce, sealed: bytes } = item.result;
    // 14-byte value: wrapper 90 bytes, sealed 170 (spec §2.4).
    expect(bytes).toHaveLength(170);
    const open = (e: typeof entry | undefined, t = teamId) =>
      ks.openKv({
        items: [
          {
            teamId: t,
            generation: 1,
            signerPublicKey: kidPublicKey(dev.signingKid),
            nonce,
            sealed: bytes,
            ...(e ? { entry: e } : {}),
          },
        ],
      });
    const ok = (await open(entry)).items[0]!;
    expect('result' in ok && bytesEqual(ok.result.plaintext, utf8('all my secrets'))).toBe(true);
    // Without `entry` the raw wrapper comes back: {a: 64 bytes, m: value, v: 1}.
    const raw = (await open(undefined)).items[0]!;
    if (!('result' in raw)) throw new Error('open failed');
    const w = decodeMsgpack(raw.result.plaintext) as Map<string, unknown>;
    expect([...w.keys()]).toEqual(['a', 'm', 'v']);
    expect(w.get('v')).toBe(1);
    expect((w.get('a') as Uint8Array).length).toBe(64);
    for (const other of [
      { ...entry, revision: 4 },
      { ...entry, entryKey: 'other' },
      { ...entry, namespace: 'other' },
      { ...entry, writerUid: toHex(backend.randomBytes(16)) },
      { ...entry, writerDeviceId: toHex(backend.randomBytes(16)) },
      { ...entry, writerEldestSeqno: 2 },
    ]) {
      const r = (await open(other)).items[0]!;
      expect('error' in r && r.error.code).toBe('KEYSTORE_KV_METADATA_MISMATCH');
    }
  });
});

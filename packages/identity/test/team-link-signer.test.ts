import { describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import {
  buildTeamLink,
  buildTeamLinkWith,
  createSignaturePacket,
  derivePerTeamKeys,
  ed25519Kid,
  rootTeamId,
  uidFromUsername,
  verifyTeamChain,
} from '../src/index.js';
import type { RemoteSigner } from '../src/index.js';

const backend = await defaultBackend();

function remote(secretKey: Uint8Array, calls: Uint8Array[]): RemoteSigner {
  return {
    kid: ed25519Kid(secretKey.subarray(32)),
    sign: (m) => {
      calls.push(m);
      return Promise.resolve(backend.ed25519Sign(m, secretKey));
    },
  };
}

describe('buildTeamLinkWith (remote signers)', () => {
  it('builds byte for byte the link buildTeamLink builds with the same keys, and it verifies', async () => {
    const device = backend.ed25519KeyPairFromSeed(backend.randomBytes(32));
    const ptk = derivePerTeamKeys(backend, backend.randomBytes(32));
    const uid = uidFromUsername(backend, 'alice');
    const id = rootTeamId(backend, 'acme');
    const ctx = {
      uid,
      username: 'alice',
      seqno: 1,
      prev: null,
      eldestKid: ed25519Kid(device.publicKey),
      ctime: 1_700_000_000,
    };
    const team = { id, name: 'acme', members: { owner: [`${uid}%1`] } };
    const local = buildTeamLink(backend, ctx, { secretKey: device.secretKey }, 'team.root', team, {
      perTeamKey: {
        generation: 1,
        encryptionKid: ptk.encryptionKid,
        signing: { secretKey: ptk.signing.secretKey },
      },
    });
    const deviceCalls: Uint8Array[] = [];
    const ptkCalls: Uint8Array[] = [];
    const built = await buildTeamLinkWith(
      backend,
      ctx,
      remote(device.secretKey, deviceCalls),
      'team.root',
      team,
      {
        generation: 1,
        encryptionKid: ptk.encryptionKid,
        signer: remote(ptk.signing.secretKey, ptkCalls),
      },
    );
    expect(built).toEqual(local);
    expect([deviceCalls.length, ptkCalls.length]).toEqual([1, 1]);
    // The device signed the outer msgpack array; the PTK the JSON payload.
    expect(deviceCalls[0]![0]! >> 4).toBe(0x9);
    expect(new TextDecoder().decode(ptkCalls[0]).startsWith('{"body":')).toBe(true);
    const kid = ed25519Kid(device.publicKey);
    const result = verifyTeamChain(backend, {
      teamId: id,
      links: [built.link],
      signers: (u, k) =>
        u === uid && k === kid ? { eldestSeqno: 1, sibkey: true, revoked: false } : undefined,
    });
    expect(result.latestGeneration).toBe(1);
  });

  it('yields a link the verifier refuses when the remote signer signs something else', async () => {
    const device = backend.ed25519KeyPairFromSeed(backend.randomBytes(32));
    const ptk = derivePerTeamKeys(backend, backend.randomBytes(32));
    const uid = uidFromUsername(backend, 'alice');
    const id = rootTeamId(backend, 'acme');
    const liar: RemoteSigner = {
      kid: ed25519Kid(device.publicKey),
      sign: () =>
        Promise.resolve(
          createSignaturePacket(backend, device.secretKey, new Uint8Array([0x90])).bytes.slice(
            0,
            64,
          ),
        ),
    };
    const built = await buildTeamLinkWith(
      backend,
      { uid, username: 'alice', seqno: 1, prev: null, ctime: 1 },
      liar,
      'team.root',
      { id, name: 'acme', members: { owner: [`${uid}%1`] } },
      {
        generation: 1,
        encryptionKid: ptk.encryptionKid,
        signer: remote(ptk.signing.secretKey, []),
      },
    );
    expect(() =>
      verifyTeamChain(backend, {
        teamId: id,
        links: [built.link],
        signers: () => ({ eldestSeqno: 1, sibkey: true, revoked: false }),
      }),
    ).toThrow(expect.objectContaining({ code: 'IDENTITY_VERIFY_FAILED' }) as Error);
  });
});

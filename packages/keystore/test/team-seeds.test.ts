/**
 * Team seeds that never reached a chain: `createKeyBoxes({generation: 'new', chainGeneration})`
 * numbers the new seed after the verified chain (replacing a leftover), and `openKeyBoxes` with
 * the chain's `expected` KIDs replaces a held seed that does not derive them.
 */
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { derivePerTeamKeys, sealTeamKeyBox, teamBoxNonce } from '@saltbox/identity';
import { inProcessClient, memoryStore, openKeystore } from '../src/index.js';
import { CHEAP_KDF } from './helpers.js';

const backend = await defaultBackend();
const teamId = '0'.repeat(30) + '24';

async function member() {
  const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
  await ks.unlock({ passphrase: 'pass phrase', create: true });
  const device = await ks.createDevice({ name: 'd', type: 'desktop' });
  // A PUK generation to receive team boxes: boxed to the device by itself.
  const puk = await ks.createKeyBoxes({
    key: { kind: 'puk' },
    generation: 'new',
    senderKid: device.encryptionKid,
    recipients: [],
  });
  return { ks, device, puk };
}

const held = async (ks: Awaited<ReturnType<typeof member>>['ks']) =>
  (await ks.getPublicKeyBundle()).teams.map((t) => [t.generation, t.encryptionKid]);

describe('team seeds and the verified chain', () => {
  it('numbers a new generation after the chain and replaces a leftover one', async () => {
    const { ks, device } = await member();
    const make = (chainGeneration?: number) =>
      ks.createKeyBoxes({
        key: { kind: 'team', teamId },
        generation: 'new',
        ...(chainGeneration === undefined ? {} : { chainGeneration }),
        senderKid: device.encryptionKid,
        recipients: [],
      });
    const first = await make(0);
    expect(first.generation).toBe(1);
    // A post that failed: without chainGeneration the keystore would count it.
    const leftover = await make();
    expect(leftover.generation).toBe(2);
    const again = await make(1);
    expect(again.generation).toBe(2);
    expect(again.encryptionKid).not.toBe(leftover.encryptionKid);
    expect(again.prev).not.toBeNull();
    expect(await held(ks)).toEqual([
      [1, first.encryptionKid],
      [2, again.encryptionKid],
    ]);
    // The chain says 3 but generation 3 is not held: open it first.
    await expect(make(3)).rejects.toMatchObject({ code: 'KEYSTORE_UNKNOWN_KEY' });
  });

  it("replaces a held seed that does not derive the chain's kids when the chain's one opens", async () => {
    const { ks, device, puk } = await member();
    const orphan = await ks.createKeyBoxes({
      key: { kind: 'team', teamId },
      generation: 'new',
      senderKid: device.encryptionKid,
      recipients: [],
    });
    const real = backend.randomBytes(32);
    const keys = derivePerTeamKeys(backend, real);
    const sender = backend.randomBytes(32);
    const nonce = teamBoxNonce(backend.randomBytes(20), 1);
    const item = {
      key: { kind: 'team' as const, teamId },
      generation: 1,
      receiverKid: puk.encryptionKid,
      senderPublicKey: backend.x25519PublicKey(sender),
      nonce,
      ciphertext: sealTeamKeyBox(backend, real, nonce, sender, puk.encryptionKid),
    };
    // Without the chain's KIDs a different seed for a held generation is a conflict…
    const plain = await ks.openKeyBoxes({ items: [item] });
    expect(plain.items[0]).toMatchObject({ error: { code: 'KEYSTORE_CONFLICT' } });
    // …with them, the chain wins.
    const expected = [
      { generation: 1, signingKid: keys.signingKid, encryptionKid: keys.encryptionKid },
    ];
    const res = await ks.openKeyBoxes({ items: [{ ...item, expected }] });
    expect(res.items[0]).toEqual({ result: { generations: [1] } });
    expect(await held(ks)).toEqual([[1, keys.encryptionKid]]);
    expect(keys.encryptionKid).not.toBe(orphan.encryptionKid);
  });
});

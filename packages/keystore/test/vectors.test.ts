/**
 * Known answers from Keybase's own test vectors (packages/identity/test/vectors/teamchains/2keys.json):
 * herb's PUK seed gives his published PUK KID, and the keystore opens the real team key boxes
 * and `prev` chain addressed to that PUK, recovering the published team seeds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { fromHex, toHex } from '@saltbox/saltpack/encoding';
import { kidPublicKey, memoryStore, openKeystore } from '@saltbox/keystore';
import { encodeRecord } from '../src/records.js';
import { encryptedStore } from '../src/store/encrypted.js';
import { openMeta, parseMeta } from '../src/store/passphrase.js';
import { fromBase64 } from '../src/bytes.js';
import { CHEAP_KDF } from './helpers.js';

interface Vector {
  teams: {
    cabal: {
      id: string;
      team_key_boxes: {
        box: { nonce: string; sender_kid: string; generation: number; ctext: string };
        prev: string | null;
      }[];
      debug_tk_secs: string[][];
      debug_tk_sig_kids: string[][];
    };
  };
  users: { herb: { puk_secrets: Record<string, string>; debug_puk_enc_kid: string } };
}

const vector = JSON.parse(
  readFileSync(
    new URL('../../identity/test/vectors/teamchains/2keys.json', import.meta.url),
    'utf8',
  ),
) as Vector;

describe('keybase vectors', () => {
  it('opens herb’s real team key boxes and prev chain with his PUK', async () => {
    const backend = await defaultBackend();
    const base = memoryStore();
    const ks = await openKeystore({ store: base, kdf: CHEAP_KDF, backend });
    await ks.unlock({ passphrase: 'pw', create: true });
    await ks.lock();
    // Plant herb's PUK seed the way the keystore stores it (there is no import method).
    const key = await openMeta(backend, parseMeta((await base.get('meta'))!), 'pw');
    const enc = encryptedStore(base, key, backend);
    const seed = fromHex(vector.users.herb.puk_secrets['1']!);
    await enc.set('key/puk/1', encodeRecord({ v: 1, kind: 'puk', generation: 1, seed }));
    await ks.unlock({ passphrase: 'pw' });

    const bundle = await ks.getPublicKeyBundle();
    expect(bundle.puks[0]!.encryptionKid).toBe(vector.users.herb.debug_puk_enc_kid);

    const team = vector.teams.cabal;
    const [, second] = team.team_key_boxes;
    const sigKids = team.debug_tk_sig_kids[0]!;
    const res = await ks.openKeyBoxes({
      items: [
        {
          key: { kind: 'team', teamId: team.id },
          generation: second!.box.generation,
          receiverKid: vector.users.herb.debug_puk_enc_kid,
          senderPublicKey: kidPublicKey(second!.box.sender_kid),
          nonce: fromBase64(second!.box.nonce)!,
          ciphertext: fromBase64(second!.box.ctext)!,
          prevs: [{ generation: 2, prev: second!.prev! }],
          expected: [
            { generation: 1, signingKid: sigKids[0]! },
            { generation: 2, signingKid: sigKids[1]! },
          ],
        },
      ],
    });
    expect(res.items[0]).toEqual({ result: { generations: [1, 2] } });
    const exported = await ks.exportSecrets({ passphrase: 'pw' });
    expect(exported.teams.map((t) => toHex(t.seed))).toEqual(team.debug_tk_secs[0]);
    await ks.close();
  });
});

/**
 * Opening the caller's per-user-key boxes through the keystore. The server chooses which boxes
 * to serve, so every box is checked against the VERIFIED chain before the keystore sees it:
 * the generation must be announced by the chain, the receiver must be a live encryption key of
 * the user, the sender one of the user's own encryption keys, and the keystore is told the
 * chain's KIDs for the generation (`expected`) so a seed that derives other keys is refused.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { decodeEncryptionPacket, KID_TYPE, naclPublicKey } from '@saltbox/identity';
import type { ApiClient } from './http.js';
import { ClientError } from './errors.js';
import type { VerifiedUser } from './users.js';

/** The part of a keystore client {@link openMyPukBoxes} needs. */
export interface KeystoreOpenBoxesApi {
  openKeyBoxes(request: {
    items: {
      key: { kind: 'puk' };
      generation: number;
      receiverKid: string;
      senderPublicKey: Uint8Array;
      nonce: Uint8Array;
      ciphertext: Uint8Array;
      expected?: { generation: number; signingKid?: string; encryptionKid?: string }[];
    }[];
  }): Promise<{
    items: ({ result: { generations: number[] } } | { error: { code: string; message: string } })[];
  }>;
}

/**
 * Fetches the PUK boxes addressed to the calling device and opens them in the keystore.
 *
 * @param me - the caller's own user, as `UserLoader.load` verified it.
 * @returns the generations now held by the keystore, ascending.
 * @throws ClientError `CLIENT_KEY_BOX_INVALID` (a box the verified chain does not support:
 *   unknown generation, receiver or sender not a key of the user, packet naming another
 *   receiver, or a seed the keystore refuses, e.g. one that derives other KIDs than the chain
 *   announces for that generation; `details.keystoreCode`), `CLIENT_SIGNER` (keystore locked),
 *   and the transport codes of {@link ApiClient}.
 */
export async function openMyPukBoxes(
  backend: CryptoBackend,
  api: ApiClient,
  keystore: KeystoreOpenBoxesApi,
  me: VerifiedUser,
): Promise<number[]> {
  const { boxes } = await api.myPukBoxes();
  const live = new Set<string>(me.subkeys);
  const own = new Set<string>(me.keys.filter((k) => k.role === 'subkey').map((k) => k.kid));
  const gens = new Map(me.perUserKeys.map((p) => [p.generation, p]));
  const bad = (why: string, generation: number) =>
    new ClientError('CLIENT_KEY_BOX_INVALID', `a puk box is not supported by the chain: ${why}`, {
      username: me.username,
      generation,
    });
  const items = boxes.map((b) => {
    const puk = gens.get(b.generation);
    if (puk === undefined) throw bad('unknown generation', b.generation);
    if (!live.has(b.receiverKid)) throw bad('receiver is not a live key', b.generation);
    let packet;
    try {
      packet = decodeEncryptionPacket(backend, b.box);
    } catch {
      throw bad('malformed packet', b.generation);
    }
    if (packet.receiverKid !== b.receiverKid)
      throw bad('packet names another receiver', b.generation);
    // Revoked devices still count as senders: a box made before a revocation stays valid.
    if (!own.has(packet.senderKid)) throw bad('sender is not a key of the user', b.generation);
    return {
      key: { kind: 'puk' as const },
      generation: b.generation,
      receiverKid: b.receiverKid,
      senderPublicKey: naclPublicKey(packet.senderKid, KID_TYPE.curve25519),
      nonce: packet.nonce,
      ciphertext: packet.ciphertext,
      expected: [
        {
          generation: puk.generation,
          signingKid: puk.signingKid,
          encryptionKid: puk.encryptionKid,
        },
      ],
    };
  });
  if (items.length === 0) return [];
  const res = await keystore.openKeyBoxes({ items });
  const opened = new Set<number>();
  res.items.forEach((item, i) => {
    if ('error' in item)
      // A locked keystore is the caller's state; anything else is the box (e.g. a seed that
      // does not derive the chain's KIDs: KEYSTORE_KEY_MISMATCH).
      throw new ClientError(
        item.error.code === 'KEYSTORE_LOCKED' ? 'CLIENT_SIGNER' : 'CLIENT_KEY_BOX_INVALID',
        'the keystore refused a puk box',
        {
          generation: items[i]?.generation ?? null,
          keystoreCode: item.error.code,
        },
      );
    for (const g of item.result.generations) opened.add(g);
  });
  return [...opened].sort((a, b) => a - b);
}

/**
 * Which link KIDs enter a key family (spec §1.3, §2.1): shared by the client's and the server's
 * chain loading, which used to carry copies that differed on PGP KIDs.
 */
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import {
  buildKeyFamily,
  curve25519Kid,
  ed25519Kid,
  isPgpKid,
  KID_TYPE,
  kidFromPayload,
  linkNaclKids,
} from '../src/index.js';
import type { ImportedLink } from '../src/index.js';

const backend = await defaultBackend();

function link(seqno: number, signingKid: string, body: ImportedLink['body'], stubbed = false) {
  return {
    seqno,
    prev: null,
    id: String(seqno).padStart(64, '0'),
    sigVersion: 2,
    stubbed,
    signingKid,
    body,
  } as ImportedLink;
}

describe('key family rules', () => {
  const eldest = ed25519Kid(backend.randomBytes(32));
  const sib = ed25519Kid(backend.randomBytes(32));
  const sub = curve25519Kid(backend.randomBytes(32));
  const hidden = ed25519Kid(backend.randomBytes(32));
  const pgp = kidFromPayload(KID_TYPE.pgpRsa, backend.randomBytes(32));

  it('tells PGP KIDs from NaCl ones by the type byte', () => {
    expect(isPgpKid(eldest)).toBe(false);
    expect(isPgpKid(sub)).toBe(false);
    expect(isPgpKid(pgp)).toBe(true);
    expect(isPgpKid(kidFromPayload(KID_TYPE.pgpEddsa, backend.randomBytes(32)))).toBe(true);
  });

  it('takes the NaCl KIDs links sign with or delegate, once each, and leaves PGP KIDs out', () => {
    const links = [
      link(1, eldest, { key: { kid: eldest } }),
      link(2, eldest, { key: { kid: eldest }, subkey: { kid: sub } }),
      link(3, eldest, { key: { kid: eldest }, sibkey: { kid: pgp } }),
      link(4, eldest, { key: { kid: eldest }, sibkey: { kid: sib } }),
      link(5, hidden, { sibkey: { kid: hidden } }, true),
    ];
    expect(linkNaclKids(links)).toEqual([eldest, sub, sib]);
  });

  it('keeps a PGP KID out of the NaCl part of a family built from link KIDs', async () => {
    const links = [link(1, eldest, { key: { kid: eldest }, sibkey: { kid: pgp } })];
    const family = await buildKeyFamily(backend, linkNaclKids(links));
    expect(family.nacl.has(pgp)).toBe(false);
    expect(family.pgp.has(pgp)).toBe(false);
    // Why the rule matters: a bare PGP KID would be taken for a NaCl key.
    expect((await buildKeyFamily(backend, [pgp])).nacl.has(pgp)).toBe(true);
  });
});

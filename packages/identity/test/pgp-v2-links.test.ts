/**
 * Sigchain v2 links signed by a PGP key (spec §3.3, §3.5; issue #12.22), from Keybase's own npm
 * libraries: `fixtures/pgp-v2-links.json` was written by `kbpgp` and `keybase-proofs` (generator
 * `scripts/pgp-v2-fixture.mjs`), whose v2 verifier accepts the good links and refuses the bad
 * ones. The outer link is the literal data of the PGP message (zlib-compressed, as kbpgp writes
 * it); the link ID hashes it, and it must agree with the inner JSON exactly as a NaCl-signed v2
 * link's does.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildKeyFamily,
  canonicalJson,
  importUserLinks,
  isIdentityError,
  parseJson,
  verifyUserChain,
} from '../src/index.js';
import type { JsonObject, ServerChainLink } from '../src/index.js';
import { backend as loadBackend } from './helpers.js';
import type { Json } from './helpers.js';

const b = await loadBackend();
const fixture: Json = JSON.parse(
  readFileSync(resolve(import.meta.dirname, 'fixtures/pgp-v2-links.json'), 'utf8'),
);
const links = fixture.links as Record<string, ServerChainLink>;
const family = await buildKeyFamily(b, [
  fixture.pgp_public_key as string,
  fixture.other_pgp_public_key as string,
  fixture.device_kid as string,
]);

function verify(chain: ServerChainLink[]) {
  return verifyUserChain(b, {
    uid: fixture.uid as string,
    username: fixture.username as string,
    links: chain,
    keyFamily: family,
    eldestKid: fixture.pgp_kid as string,
  });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isIdentityError(e)) return e.code;
    throw e;
  }
  return 'accepted';
}

describe('pgp-signed sigchain v2 links (keybase-proofs output)', () => {
  it('the fixture records what keybase-proofs itself says', () => {
    expect(fixture.keybase_proofs_verify_v2).toMatchObject({
      eldest: 'ok',
      sibkey: 'ok',
      sibkey_outer_type_mismatch: expect.stringContaining('Type mismatch') as unknown,
      sibkey_outer_seqno_mismatch: expect.stringContaining('wrong seqno') as unknown,
    });
  });

  it('imports them: link ID = SHA-256 of the signed outer link, as keybase-proofs computed', async () => {
    const imported = await importUserLinks(b, [links.eldest!, links.sibkey!]);
    expect(imported.map((l) => [l.sigVersion, l.isPgp, l.id])).toEqual([
      [2, true, links.eldest!.payload_hash],
      [2, true, links.sibkey!.payload_hash],
    ]);
    expect(imported[1]!.prev).toBe(imported[0]!.id);
    expect(imported.map((l) => l.sigId)).toEqual([links.eldest!.sig_id, links.sibkey!.sig_id]);
  });

  it('accepts a chain of them: a pgp eldest, then a pgp-signed sibkey delegation', async () => {
    const result = await verify([links.eldest!, links.sibkey!]);
    expect(result.state.eldestKid).toBe(fixture.pgp_kid);
    expect([...result.sibkeys].sort()).toEqual(
      [fixture.pgp_kid as string, fixture.device_kid as string].sort(),
    );
    expect(result.linkCount).toBe(2);
  });

  it('refuses an outer link that disagrees with its inner JSON, although validly signed', async () => {
    expect(await codeOf(verify([links.eldest!, links.sibkey_outer_type_mismatch!]))).toBe(
      'IDENTITY_SIGCHAIN_V2_MISMATCHED_FIELD',
    );
    expect(await codeOf(verify([links.eldest!, links.sibkey_outer_seqno_mismatch!]))).toBe(
      'IDENTITY_VERIFY_FAILED',
    );
    // Another inner JSON under the same signed outer link: its hash is not the outer's `curr`.
    const inner = parseJson(links.sibkey!.payload_json!) as JsonObject;
    const swapped = { ...links.sibkey!, payload_json: canonicalJson({ ...inner, ctime: 1 }) };
    expect(await codeOf(verify([links.eldest!, swapped]))).toBe('IDENTITY_VERIFY_FAILED');
  });

  it('refuses the same outer link signed by another pgp key', async () => {
    expect(await codeOf(verify([links.eldest!, links.sibkey_signed_by_other_key!]))).toBe(
      'IDENTITY_VERIFY_FAILED',
    );
  });

  it('refuses a pgp-signed v2 link whose pgp message is unreadable', async () => {
    const broken = {
      ...links.sibkey!,
      sig: links.sibkey!.sig!.replace(/\n[A-Za-z0-9+/]{8}/, '\nAAAAAAAA'),
    };
    await expect(verify([links.eldest!, broken])).rejects.toMatchObject({
      code: 'IDENTITY_BAD_CHAIN_LINK',
      message: expect.stringContaining('pgp signature is not a readable signed message') as unknown,
      details: { seqno: 2 },
    });
  });
});

import { describe, expect, it } from 'vitest';
import { fromHex } from '@saltbox/saltpack/encoding';
import {
  canonicalizeImplicitTeamName,
  curve25519Kid,
  derivePaperKeys,
  derivePerTeamKeys,
  derivePerUserKeys,
  deriveTeamApplicationKey,
  deriveTeamKeySecret,
  generatePaperKeyPhrase,
  IdentityError,
  openPerUserKeyPrev,
  openTeamKeyBox,
  openTeamPrev,
  parsePaperKeyPhrase,
  paperKeyWordVersion,
  rootTeamId,
  sealPerUserKeyPrev,
  sealTeamKeyBox,
  sealTeamPrev,
  teamBoxNonce,
  teamSeedCheck,
  teamSeedCheckStart,
  uidFromUsername,
  TEAM_APPLICATIONS,
  toBase64,
} from '../src/index.js';
import { BACKEND_NAMES, backend, readVector, seededRandom } from './helpers.js';
import type { Json } from './helpers.js';

const KAT_PHRASE =
  'abandon ability able about above absent absorb abstract absurd abuse access accident acid';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof IdentityError) return e.code;
    throw e;
  }
  return undefined;
}

describe.each(BACKEND_NAMES)('derivations (%s backend)', (name) => {
  it('reproduces the paper-key known answer of spec §5.2', async () => {
    const b = await backend(name);
    const keys = await derivePaperKeys(b, KAT_PHRASE);
    expect(keys.signingKid).toBe(
      '0120579202e3e574de1c71df522550ef8ffbcd6a4def8a31c9a2bd59459d0545b9ca0a',
    );
    expect(keys.encryptionKid).toBe(
      '0121c9a3082377a404b55045f4f111aed85ee0026f8920e1257aa2fdc2e4f5b5a2050a',
    );
    expect(keys.deviceName).toBe('abandon ability');
  });

  it('normalises case and whitespace before deriving', async () => {
    const b = await backend(name);
    const parsed = parsePaperKeyPhrase(b, `  ${KAT_PHRASE.toUpperCase().replace(/ /g, '\t  ')}\n`);
    expect(parsed.phrase).toBe(KAT_PHRASE);
    expect(parsed.prefix).toBe('abandon ability');
  });

  it('reproduces the PUK encryption KIDs of teamchains/2keys.json', async () => {
    const b = await backend(name);
    const users = readVector('teamchains', '2keys.json').users as Record<string, Json>;
    for (const u of Object.values(users)) {
      const keys = derivePerUserKeys(b, fromHex(u.puk_secrets['1']));
      expect(keys.encryptionKid).toBe(u.debug_puk_enc_kid);
    }
  });

  it('reproduces the PTK signing KIDs and seeds of teamchains/2keys.json (boxes and prev open)', async () => {
    const b = await backend(name);
    const v = readVector('teamchains', '2keys.json');
    const team = v.teams.cabal;
    const herb = derivePerUserKeys(b, fromHex(v.users.herb.puk_secrets['1']));
    const seeds = team.team_key_boxes.map((tkb: Json) =>
      openTeamKeyBox(
        b,
        {
          nonce: tkb.box.nonce,
          senderKid: tkb.box.sender_kid,
          generation: tkb.box.generation,
          ctext: tkb.box.ctext,
          perUserKeySeqno: tkb.box.per_user_key_seqno,
        },
        herb.encryptionSecretKey,
      ),
    );
    expect(seeds.map((s: Uint8Array) => Buffer.from(s).toString('hex'))).toEqual(
      team.debug_tk_secs[0],
    );
    expect(seeds.map((s: Uint8Array) => derivePerTeamKeys(b, s).signingKid)).toEqual(
      team.debug_tk_sig_kids[0],
    );
    expect(
      Buffer.from(openTeamPrev(b, seeds[1], team.team_key_boxes[1].prev)).toString('hex'),
    ).toBe(team.debug_tk_secs[0][0]);
  });

  it('derives UIDs and root team IDs as spec §2.2 (max32, cabal)', async () => {
    const b = await backend(name);
    expect(uidFromUsername(b, 'max32')).toBe('74c38cf7ceb947f5632045d8ca5d4819');
    expect(uidFromUsername(b, 'Max32')).toBe('74c38cf7ceb947f5632045d8ca5d4819');
    expect(rootTeamId(b, 'cabal')).toBe('2123209b98b16083c69c91152b861724');
  });
});

describe('paper key phrases', () => {
  it('generates 13 list words whose last word has version 0, and parses them back', async () => {
    const b = await backend();
    for (let i = 0; i < 20; i++) {
      const phrase = generatePaperKeyPhrase(b);
      const words = phrase.split(' ');
      expect(words).toHaveLength(13);
      expect(paperKeyWordVersion(b, words[12]!)).toBe(0);
      expect(parsePaperKeyPhrase(b, phrase).phrase).toBe(phrase);
    }
  });

  it('is reproducible with an injected random source', async () => {
    const b = await backend();
    expect(generatePaperKeyPhrase(b, seededRandom(7))).toBe(
      generatePaperKeyPhrase(b, seededRandom(7)),
    );
  });

  it('rejects too few words, unknown words and a wrong version nibble with IDENTITY_BAD_PAPER_KEY', async () => {
    const b = await backend();
    const words = KAT_PHRASE.split(' ');
    expect(code(() => parsePaperKeyPhrase(b, words.slice(0, 12).join(' ')))).toBe(
      'IDENTITY_BAD_PAPER_KEY',
    );
    expect(code(() => parsePaperKeyPhrase(b, [...words.slice(0, 12), 'zzzz'].join(' ')))).toBe(
      'IDENTITY_BAD_PAPER_KEY',
    );
    // 'abandon' has a non-zero version nibble.
    expect(paperKeyWordVersion(b, 'abandon')).not.toBe(0);
    expect(code(() => parsePaperKeyPhrase(b, [...words.slice(0, 12), 'abandon'].join(' ')))).toBe(
      'IDENTITY_BAD_PAPER_KEY',
    );
  });

  it('completes an 11-word phrase with the known device prefix', async () => {
    const b = await backend();
    const words = KAT_PHRASE.split(' ');
    expect(parsePaperKeyPhrase(b, words.slice(2).join(' '), 'abandon ability').phrase).toBe(
      KAT_PHRASE,
    );
    expect(code(() => parsePaperKeyPhrase(b, KAT_PHRASE, 'able about'))).toBe(
      'IDENTITY_BAD_PAPER_KEY',
    );
  });

  it('never puts the phrase into the error message', async () => {
    const b = await backend();
    try {
      parsePaperKeyPhrase(b, 'secretword '.repeat(13));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain('secretword');
      expect(JSON.stringify(e)).not.toContain('secretword');
    }
  });
});

describe('PUK and PTK helpers', () => {
  it('chains PUK prevs so the newest seed opens the previous one', async () => {
    const b = await backend();
    const s1 = b.randomBytes(32);
    const s2 = b.randomBytes(32);
    const prev = sealPerUserKeyPrev(b, s2, s1);
    expect(openPerUserKeyPrev(b, s2, prev)).toEqual(s1);
    expect(code(() => openPerUserKeyPrev(b, s1, prev))).toBe('IDENTITY_DECRYPTION_FAILED');
  });

  it('seals team boxes that open with the member PUK, and team prevs with counter 0', async () => {
    const b = await backend();
    const member = derivePerUserKeys(b, b.randomBytes(32));
    const senderSecret = b.randomBytes(32);
    const senderKid = curve25519Kid(b.x25519PublicKey(senderSecret));
    const seed = b.randomBytes(32);
    const prefix = b.randomBytes(20);
    const nonce = teamBoxNonce(prefix, 1);
    const ctext = sealTeamKeyBox(b, seed, nonce, senderSecret, member.encryptionKid);
    const box = {
      nonce: toBase64(nonce),
      senderKid,
      generation: 1,
      ctext: toBase64(ctext),
      perUserKeySeqno: 3,
    };
    expect(openTeamKeyBox(b, box, member.encryptionSecretKey)).toEqual(seed);
    const next = b.randomBytes(32);
    expect(openTeamPrev(b, next, sealTeamPrev(b, next, seed, prefix))).toEqual(seed);
  });

  it('derives application keys with the exact KVStore and Saltpack strings, masked by XOR', async () => {
    const b = await backend();
    const seed = b.randomBytes(32);
    expect(TEAM_APPLICATIONS.kvStore.string).toBe('Keybase-Derived-Team-NaCl-KVStore-1');
    expect(TEAM_APPLICATIONS.saltpack.string).toBe('Keybase-Derived-Team-NaCl-Saltpack-1');
    const kv = deriveTeamApplicationKey(b, seed, 'kvStore');
    expect(kv).toEqual(
      b
        .hmacSha512(seed, new TextEncoder().encode('Keybase-Derived-Team-NaCl-KVStore-1'))
        .slice(0, 32),
    );
    const mask = new Uint8Array(32).fill(0xff);
    expect(deriveTeamApplicationKey(b, seed, 'kvStore', mask)).toEqual(kv.map((x) => x ^ 0xff));
    expect(deriveTeamKeySecret(b, seed, TEAM_APPLICATIONS.saltpack.string)).toHaveLength(32);
  });

  it('computes the seed check chain from the team ID', async () => {
    const b = await backend();
    const start = teamSeedCheckStart('2123209b98b16083c69c91152b861724');
    expect(new TextDecoder().decode(start.subarray(0, 32))).toBe(
      'Keybase-Derived-Team-Seedcheck-1',
    );
    expect(start[32]).toBe(0);
    const seed = b.randomBytes(32);
    expect(teamSeedCheck(b, seed, start)).toEqual(b.hmacSha512(seed, start).slice(0, 32));
  });
});

describe('implicit team names', () => {
  it('lower-cases, de-duplicates and sorts writers and readers', () => {
    expect(canonicalizeImplicitTeamName('Bob,alice,bob').name).toBe('alice,bob');
    expect(canonicalizeImplicitTeamName('you,you').name).toBe('you');
    expect(canonicalizeImplicitTeamName('carol, alice#dave,alice,Bob').name).toBe(
      'alice,carol#bob,dave',
    );
  });

  it('rejects empty members, social assertions and double #', () => {
    expect(code(() => canonicalizeImplicitTeamName('alice,,bob'))).toBe('IDENTITY_BAD_TEAM_NAME');
    expect(code(() => canonicalizeImplicitTeamName('alice,bob@twitter'))).toBe(
      'IDENTITY_BAD_TEAM_NAME',
    );
    expect(code(() => canonicalizeImplicitTeamName('a1#b1#c1'))).toBe('IDENTITY_BAD_TEAM_NAME');
  });
});

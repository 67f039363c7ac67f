import { beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  buildTeamLink,
  canonicalJson,
  createSignaturePacket,
  curve25519Kid,
  encodeOuterLink,
  derivePerTeamKeys,
  derivePerUserKeys,
  ed25519Kid,
  extendTeamChain,
  formatUserVersion,
  isIdentityError,
  openTeamKeys,
  rootTeamId,
  sealTeamKeyBox,
  sealTeamPrev,
  teamBoxNonce,
  toBase64,
  uidFromUsername,
  verifyTeamChain,
} from '../src/index.js';
import type {
  BuiltLink,
  JsonObject,
  ServerChainLink,
  TeamChainState,
  TeamSignerLookup,
} from '../src/index.js';
import { backend, seededRandom } from './helpers.js';

interface User {
  name: string;
  uid: string;
  device: { secretKey: Uint8Array; kid: string };
  pukSeed: Uint8Array;
}

let b: CryptoBackend;
const rnd = seededRandom(7);

function user(name: string): User {
  const kp = b.ed25519KeyPairFromSeed(rnd.randomBytes(32));
  return {
    name,
    uid: uidFromUsername(b, name),
    device: { secretKey: kp.secretKey, kid: ed25519Kid(kp.publicKey) },
    pukSeed: rnd.randomBytes(32),
  };
}

function signers(...users: User[]): TeamSignerLookup {
  return (uid, kid) =>
    users.some((u) => u.uid === uid && u.device.kid === kid)
      ? { eldestSeqno: 1, sibkey: true, revoked: false }
      : undefined;
}

/** Signs an edited team payload's outer link with the member's device key (no reverse-sig refill). */
function resign(payload: JsonObject, by: User): ServerChainLink {
  const json = canonicalJson(payload);
  const outer = encodeOuterLink({
    version: 2,
    seqno: payload.seqno as number,
    prev: null,
    curr: b.sha256(utf8(json)),
    linkType: 33,
    seqType: payload.seq_type as number,
    ignoreIfUnsupported: false,
    fieldCount: 7,
  });
  const packet = createSignaturePacket(b, by.device.secretKey, outer);
  return { seqno: 1, prev: null, sig: packet.base64, payload_json: json, sig_version: 2 };
}

/** A tiny team-chain writer over the package's builders. */
class Writer {
  readonly links: ServerChainLink[] = [];
  readonly seeds: Uint8Array[] = [];
  readonly teamId: string;
  prev: string | null = null;
  constructor(teamId: string, from?: { links: ServerChainLink[]; tail: string }) {
    this.teamId = teamId;
    if (from) {
      this.links.push(...from.links);
      this.prev = from.tail;
    }
  }

  add(by: User, type: string, team: JsonObject, opts: { rotate?: boolean } = {}): BuiltLink {
    let perTeamKey;
    if (opts.rotate === true) {
      const seed = rnd.randomBytes(32);
      this.seeds.push(seed);
      const k = derivePerTeamKeys(b, seed);
      perTeamKey = {
        generation: this.seeds.length,
        encryptionKid: k.encryptionKid,
        signing: { secretKey: k.signing.secretKey },
      };
    }
    const built = buildTeamLink(
      b,
      {
        uid: by.uid,
        username: by.name,
        seqno: this.links.length + 1,
        prev: this.prev,
        ctime: 1700000000 + this.links.length,
        eldestKid: by.device.kid,
      },
      { secretKey: by.device.secretKey },
      type,
      { id: this.teamId, ...team },
      perTeamKey ? { perTeamKey } : {},
    );
    this.links.push(built.link);
    this.prev = built.linkId;
    return built;
  }
}

const uv = (u: User): string => formatUserVersion({ uid: u.uid, eldestSeqno: 1 });

function expectCode(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    expect(isIdentityError(e) ? e.code : e).toBe(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('team chains built with the link builders', () => {
  let alice: User, bob: User, carol: User, w: Writer;
  beforeAll(async () => {
    b = await backend('native');
    alice = user('alice');
    bob = user('bob');
    carol = user('carol');
    w = new Writer(rootTeamId(b, 'acme'));
    w.add(
      alice,
      'team.root',
      { name: 'acme', members: { owner: [uv(alice)], writer: [uv(bob)] } },
      { rotate: true },
    );
    w.add(alice, 'team.change_membership', { members: { admin: [uv(carol)] } });
  });

  it('verifies, with roles and generation 1', () => {
    const { state, latestGeneration } = verifyTeamChain(b, {
      teamId: w.teamId,
      links: w.links,
      signers: signers(alice, bob, carol),
    });
    expect(latestGeneration).toBe(1);
    expect(Object.fromEntries(state.members)).toEqual({
      [uv(alice)]: 'owner',
      [uv(bob)]: 'writer',
      [uv(carol)]: 'admin',
    });
  });

  it('refuses a membership change by a writer', () => {
    const t = new Writer(w.teamId, { links: w.links, tail: verify(w.links).tail.linkId });
    t.add(bob, 'team.change_membership', { members: { reader: [uv(carol)] } });
    expectCode(() => verify(t.links), 'IDENTITY_TEAM_PERMISSION');
  });

  it('refuses an admin that adds an owner or demotes one', () => {
    const cases: JsonObject[] = [{ owner: [uv(bob)] }, { writer: [uv(alice)] }];
    for (const members of cases) {
      const t = new Writer(w.teamId, { links: w.links, tail: verify(w.links).tail.linkId });
      t.add(carol, 'team.change_membership', { members });
      expectCode(() => verify(t.links), 'IDENTITY_TEAM_PERMISSION');
    }
  });

  it('refuses a forged per-team-key reverse signature', () => {
    const t = new Writer(rootTeamId(b, 'forged'));
    t.add(
      alice,
      'team.root',
      { name: 'forged', members: { owner: [uv(alice)] } },
      { rotate: true },
    );
    // Put another link's reverse sig (a valid packet by another PTK, over another payload) into
    // this root link, and sign the outer link honestly: only the reverse signature is wrong.
    const payload = JSON.parse(t.links[0]!.payload_json!);
    const other = JSON.parse(w.links[0]!.payload_json!);
    payload.body.team.per_team_key.reverse_sig = other.body.team.per_team_key.reverse_sig;
    const forged = resign(payload, alice);
    expectCode(
      () => verifyTeamChain(b, { teamId: t.teamId, links: [forged], signers: signers(alice) }),
      'IDENTITY_REVERSE_SIG_VERIFY_FAILED',
    );
    // The untouched link verifies, so the refusal is the reverse signature's.
    expect(
      verifyTeamChain(b, { teamId: t.teamId, links: t.links, signers: signers(alice) })
        .latestGeneration,
    ).toBe(1);
  });

  it('removal then rotate_key gives generation 2; the member opens both seeds', () => {
    const t = new Writer(rootTeamId(b, 'rot'));
    t.add(
      alice,
      'team.root',
      { name: 'rot', members: { owner: [uv(alice)], reader: [uv(bob)], writer: [uv(carol)] } },
      { rotate: true },
    );
    t.add(alice, 'team.change_membership', { members: { none: [uv(bob)] } });
    t.add(carol, 'team.rotate_key', {}, { rotate: true });
    const { state, latestGeneration } = verifyTeamChain(b, {
      teamId: t.teamId,
      links: t.links,
      signers: signers(alice, bob, carol),
    });
    expect(latestGeneration).toBe(2);
    expect(state.members.has(uv(bob))).toBe(false);
    // carol's box for generation 2 and the prev that carries generation 1.
    const puk = derivePerUserKeys(b, carol.pukSeed);
    const senderSecret = rnd.randomBytes(32);
    const prefix = rnd.randomBytes(20);
    const ctext = sealTeamKeyBox(
      b,
      t.seeds[1]!,
      teamBoxNonce(prefix, 1),
      senderSecret,
      puk.encryptionKid,
    );
    const seeds = openTeamKeys(
      b,
      state,
      {
        box: {
          nonce: toBase64(teamBoxNonce(prefix, 1)),
          senderKid: curve25519Kid(b.x25519PublicKey(senderSecret)),
          generation: 2,
          ctext: toBase64(ctext),
          perUserKeySeqno: 3,
        },
        prevs: { 2: sealTeamPrev(b, t.seeds[1]!, t.seeds[0]!, prefix) },
      },
      (seqno) => (seqno === 3 ? puk.encryptionSecretKey : undefined),
    );
    expect([...seeds.keys()].sort()).toEqual([1, 2]);
    expect(seeds.get(1)).toEqual(t.seeds[0]);
    // Incremental: a re-added reader cannot rotate (rotate_key needs a writer).
    const readd = new Writer(t.teamId, { links: t.links, tail: state.tail.linkId });
    readd.add(alice, 'team.change_membership', { members: { reader: [uv(bob)] } });
    const opts = { signers: signers(alice, bob, carol) };
    const s2 = extendTeamChain(b, state, readd.links.slice(3), opts);
    expect(s2.state.members.get(uv(bob))).toBe('reader');
    readd.add(bob, 'team.rotate_key', {}, { rotate: true });
    expectCode(
      () => extendTeamChain(b, s2.state, readd.links.slice(4), opts),
      'IDENTITY_TEAM_PERMISSION',
    );
  });

  function verify(links: ServerChainLink[]): TeamChainState {
    return verifyTeamChain(b, { teamId: w.teamId, links, signers: signers(alice, bob, carol) })
      .state;
  }
});

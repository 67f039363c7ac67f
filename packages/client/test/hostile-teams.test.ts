/**
 * The hostile-server suite for teams: a real server on SQLite over a real socket, real
 * keystores, and in front of the server a rewriting fetch that lies the way a compromised server
 * would — a member added by a non-admin, key boxes for the wrong generation, team chains rolled
 * back or forked, another team's chain served for the name, a removed member still present.
 * Each is refused with its code; nothing is encrypted to a key the client did not verify, and
 * an honest answer afterwards still loads.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { buildTeamLink } from '@saltbox/identity';
import type { BuiltLink, JsonObject } from '@saltbox/identity';
import type { LogProofsResponse, TeamChainResponse, TeamKeyBoxesResponse } from '@saltbox/protocol';
import { FileTeamPinStore, isClientError } from '../src/index.js';
import type { ClientError, ClientErrorCode, VerifiedTeam } from '../src/index.js';
import { startTestServer, tempHome } from './helpers.js';
import { clientsFor, keystoreUser } from './team-helpers.js';
import type { KeystoreUser } from './team-helpers.js';
import { lyingFetch } from './lying-fetch.js';

const backend = await defaultBackend();

async function refusal(p: Promise<unknown>): Promise<ClientError> {
  const e: unknown = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!isClientError(e)) throw new Error(`expected a ClientError, got ${String(e)}`);
  return e;
}

async function expectCode(p: Promise<unknown>, code: ClientErrorCode): Promise<ClientError> {
  const e = await refusal(p);
  expect(e.code).toBe(code);
  return e;
}

/** A team link `who` signs with its raw device key (what a holder of that key could post). */
function forgedLink(
  who: KeystoreUser,
  team: VerifiedTeam,
  at: { seqno: number; prev: string },
  section: JsonObject,
): BuiltLink {
  return buildTeamLink(
    backend,
    {
      uid: who.user.uid,
      username: who.username,
      seqno: at.seqno,
      prev: at.prev,
      eldestKid: who.user.eldestKid,
      ctime: 1_700_001_000,
    },
    { secretKey: who.device.signing.secretKey },
    'team.change_membership',
    { id: team.id, ...section },
  );
}

describe('hostile server, teams', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: KeystoreUser;
  let bob: KeystoreUser;
  let carol: KeystoreUser;
  let liar: ReturnType<typeof lyingFetch>;
  /** Alice's clients behind the liar, with acme verified and pinned (fresh per test). */
  let lied: ReturnType<typeof clientsFor>;
  let acme: VerifiedTeam;
  let otherChain: TeamChainResponse;

  const isAcmeChain = (path: string) =>
    path === `/api/v1/teams/${acme.id}/chain` || path === '/api/v1/teams/acme/chain';

  beforeAll(async () => {
    srv = await startTestServer();
    alice = await keystoreUser(backend, srv.server.url, 'alice');
    bob = await keystoreUser(backend, srv.server.url, 'bob');
    carol = await keystoreUser(backend, srv.server.url, 'carol');
    await alice.manager.createTeam('acme');
    await alice.manager.addMember('acme', 'bob', 'writer');
    await alice.manager.addMember('acme', 'carol', 'reader');
    await bob.manager.createTeam('other');
    otherChain = await bob.api.fetchTeamChain('other');
    liar = lyingFetch();
  });
  afterAll(() => srv.close());

  beforeEach(async () => {
    liar.state.rewrite = null;
    lied = clientsFor(backend, srv.server.url, alice, liar.f);
    acme = await lied.teams.load('acme');
    expect(acme.members).toHaveLength(3);
  });

  /**
   * After a refusal: the lie is refused again on refetch, the recipient key stays the one
   * verified before the lie, and the honest chain still loads.
   */
  async function afterRefusal(code: ClientErrorCode): Promise<void> {
    await expectCode(lied.teams.load('acme', { refresh: true }), code);
    const r = await lied.manager.recipient('acme');
    expect(r.encryptionKid).toBe(acme.perTeamKeys[acme.perTeamKeys.length - 1]!.encryptionKid);
    liar.state.rewrite = null;
    const honest = await lied.teams.load('acme', { refresh: true });
    expect(honest.tail.seqno).toBeGreaterThanOrEqual(acme.tail.seqno);
  }

  it('refuses a member added by a writer (no admin signature), pinned or on first contact', async () => {
    // Bob is a writer; with his own device key he makes himself owner and adds nobody else.
    const forged = forgedLink(
      bob,
      acme,
      { seqno: acme.tail.seqno + 1, prev: acme.tail.linkId },
      {
        members: { admin: [`${carol.user.uid}%1`] },
      },
    );
    liar.state.rewrite = (path, body) =>
      isAcmeChain(path)
        ? {
            ...(body as TeamChainResponse),
            links: [...(body as TeamChainResponse).links, forged.link],
          }
        : body;
    const e = await expectCode(lied.teams.load('acme', { refresh: true }), 'CLIENT_CHAIN_INVALID');
    expect(e.details.identityCode).toBe('IDENTITY_TEAM_PERMISSION');
    const fresh = clientsFor(backend, srv.server.url, alice, liar.f);
    const e2 = await expectCode(fresh.teams.load('acme'), 'CLIENT_CHAIN_INVALID');
    expect(e2.details.identityCode).toBe('IDENTITY_TEAM_PERMISSION');
    await expectCode(fresh.manager.recipient('acme'), 'CLIENT_CHAIN_INVALID');
    await afterRefusal('CLIENT_CHAIN_INVALID');
  });

  it('refuses a rolled-back team chain (hides the newest links)', async () => {
    liar.state.rewrite = (path, body) =>
      isAcmeChain(path)
        ? { ...(body as TeamChainResponse), links: (body as TeamChainResponse).links.slice(0, 2) }
        : body;
    await afterRefusal('CLIENT_CHAIN_ROLLBACK');
  });

  it('catches a rollback in a new process through the team pin on disk', async () => {
    const home = await tempHome();
    try {
      const first = clientsFor(
        backend,
        srv.server.url,
        alice,
        liar.f,
        new FileTeamPinStore(home.dir),
      );
      await first.teams.load('acme');
      // A later process: empty caches, the same pin file.
      const later = clientsFor(
        backend,
        srv.server.url,
        alice,
        liar.f,
        new FileTeamPinStore(home.dir),
      );
      liar.state.rewrite = (path, body) =>
        isAcmeChain(path)
          ? { ...(body as TeamChainResponse), links: (body as TeamChainResponse).links.slice(0, 2) }
          : body;
      await expectCode(later.teams.load('acme'), 'CLIENT_CHAIN_ROLLBACK');
      await expectCode(later.manager.recipient('acme'), 'CLIENT_CHAIN_ROLLBACK');
    } finally {
      await home.cleanup();
    }
  });

  it('refuses a forked team chain, even when every link is validly signed by the admin', async () => {
    // Alice's own key signs a different last link (carol as writer instead of reader).
    const prev = (await alice.api.fetchTeamChain(acme.id)).links[acme.tail.seqno - 2]!;
    const fork = forgedLink(
      alice,
      acme,
      { seqno: acme.tail.seqno, prev: prev.payload_hash! },
      {
        members: { writer: [`${carol.user.uid}%1`] },
      },
    );
    liar.state.rewrite = (path, body) => {
      if (!isAcmeChain(path)) return body;
      const b = body as TeamChainResponse;
      return { ...b, links: [...b.links.slice(0, -1), fork.link] };
    };
    const e = await expectCode(lied.teams.load('acme', { refresh: true }), 'CLIENT_CHAIN_FORK');
    expect(e.details.seqno).toBe(acme.tail.seqno);
    await afterRefusal('CLIENT_CHAIN_FORK');
  });

  it("refuses another team's chain served for the name, as is or relabelled", async () => {
    liar.state.rewrite = (path, body) => (isAcmeChain(path) ? otherChain : body);
    await afterRefusal('CLIENT_WRONG_TEAM');
    // Relabelled with acme's ID and name, to a client that never saw acme: the root link is
    // for another team ID, which is the hash of another name.
    liar.state.rewrite = (path, body) =>
      isAcmeChain(path) ? { ...otherChain, teamId: acme.id, name: 'acme' } : body;
    const fresh = clientsFor(backend, srv.server.url, alice, liar.f);
    const e = await expectCode(fresh.teams.load('acme'), 'CLIENT_CHAIN_INVALID');
    expect(e.details.identityCode).toBe('IDENTITY_TEAM_CHAIN_INVALID');
    // A username map that names bob's UID "mallory".
    liar.state.rewrite = (path, body) => {
      if (!isAcmeChain(path)) return body;
      const b = body as TeamChainResponse;
      return { ...b, usernames: { ...b.usernames, [bob.user.uid]: 'mallory' } };
    };
    await afterRefusal('CLIENT_WRONG_TEAM');
  });

  it('refuses key boxes for a generation the chain does not announce, or relabelled to another', async () => {
    const carolLied = clientsFor(backend, srv.server.url, carol, liar.f);
    const team = await alice.manager.rotate('acme');
    expect(team.perTeamKeys).toHaveLength(2);
    const carolTeam = await carolLied.teams.load('acme');
    const before = (await carol.ks.getPublicKeyBundle()).teams.filter((t) => t.teamId === team.id);
    const isBoxes = (path: string) => path.endsWith('/key-boxes');
    // An unannounced generation: refused before the keystore sees it.
    liar.state.rewrite = (path, body) => {
      if (!isBoxes(path)) return body;
      const b = body as TeamKeyBoxesResponse;
      return { ...b, boxes: b.boxes.map((x) => ({ ...x, generation: 7 })) };
    };
    await expectCode(carolLied.manager.openTeamKeys(carolTeam), 'CLIENT_KEY_BOX_INVALID');
    // Her generation-1 box relabelled as generation 2 (the real one withheld): the keystore's
    // check against the chain's KIDs for generation 2 refuses it.
    liar.state.rewrite = (path, body) => {
      if (!isBoxes(path)) return body;
      const b = body as TeamKeyBoxesResponse;
      const g1 = b.boxes.find((x) => x.generation === 1)!;
      return { ...b, boxes: [{ ...g1, generation: 2 }], prevs: [] };
    };
    const e = await expectCode(carolLied.manager.openTeamKeys(carolTeam), 'CLIENT_KEY_BOX_INVALID');
    expect(e.details.keystoreCode).toBe('KEYSTORE_KEY_MISMATCH');
    const after = (await carol.ks.getPublicKeyBundle()).teams.filter((t) => t.teamId === team.id);
    expect(after).toEqual(before);
    liar.state.rewrite = null;
    expect(await carolLied.manager.openTeamKeys(carolTeam)).toEqual([1, 2]);
  });

  it('refuses a stale tail a fresh client has no pin for: the signed log holds more links (#14.7)', async () => {
    liar.state.rewrite = (path, body) =>
      isAcmeChain(path)
        ? { ...(body as TeamChainResponse), links: (body as TeamChainResponse).links.slice(0, 2) }
        : body;
    const fresh = clientsFor(backend, srv.server.url, alice, liar.f);
    const e = await expectCode(fresh.teams.load('acme'), 'CLIENT_LOG_TAIL_MISMATCH');
    expect(e.details).toMatchObject({ servedSeqno: 2, loggedSeqno: acme.tail.seqno });
  });

  it('refuses a validly signed link the server never put in its log (#14.7)', async () => {
    // Alice's own key signs it, so the chain verifies; only the log shows it was never accepted.
    const unlogged = forgedLink(
      alice,
      acme,
      { seqno: acme.tail.seqno + 1, prev: acme.tail.linkId },
      { members: { writer: [`${carol.user.uid}%1`] } },
    );
    liar.state.rewrite = (path, body) =>
      isAcmeChain(path)
        ? {
            ...(body as TeamChainResponse),
            links: [...(body as TeamChainResponse).links, unlogged.link],
          }
        : body;
    await expectCode(lied.teams.load('acme', { refresh: true }), 'CLIENT_LOG_TAIL_MISMATCH');
    const fresh = clientsFor(backend, srv.server.url, alice, liar.f);
    await expectCode(fresh.teams.load('acme'), 'CLIENT_LOG_TAIL_MISMATCH');
    await afterRefusal('CLIENT_LOG_TAIL_MISMATCH');
  });

  it("refuses a map proof of the team's tail that does not lead to the signed root", async () => {
    // A proof verified at a root is remembered: a client that has not seen this root asks.
    const fresh = clientsFor(backend, srv.server.url, alice, liar.f);
    liar.state.rewrite = (path, body) => {
      if (path !== '/api/v1/log/proofs') return body;
      const b = body as LogProofsResponse;
      return {
        ...b,
        proofs: b.proofs.map((p) => ({
          ...p,
          proof: { ...p.proof, siblings: p.proof.siblings.slice(1) },
        })),
      };
    };
    await expectCode(fresh.teams.load('acme'), 'CLIENT_LOG_INVALID');
    liar.state.rewrite = null;
    expect((await fresh.teams.load('acme')).tail).toEqual(acme.tail);
  });

  it('never boxes or encrypts to a removed member: a chain that hides the removal is a rollback', async () => {
    const removed = await alice.manager.removeMember('acme', 'carol');
    expect(removed.members.map((m) => m.username)).toEqual(['alice', 'bob']);
    const gen = removed.perTeamKeys.length;
    // Alice's lying view has verified the removal; the server now hides it.
    const view = await lied.teams.load('acme', { refresh: true });
    expect(view.tail).toEqual(removed.tail);
    liar.state.rewrite = (path, body) =>
      isAcmeChain(path)
        ? { ...(body as TeamChainResponse), links: (body as TeamChainResponse).links.slice(0, -1) }
        : body;
    await expectCode(lied.manager.rotate('acme'), 'CLIENT_CHAIN_ROLLBACK');
    await expectCode(lied.teams.load('acme', { refresh: true }), 'CLIENT_CHAIN_ROLLBACK');
    liar.state.rewrite = null;
    const r = await lied.manager.recipient('acme');
    expect(r.generation).toBe(gen);
    // Carol's keystore never receives the new generation, even with the server's help: her old
    // box relabelled as the new generation does not derive the chain's keys.
    const carolLied = clientsFor(backend, srv.server.url, carol, liar.f);
    await expectCode(carolLied.teams.load('acme'), 'CLIENT_TEAM_NOT_FOUND');
    const held = (await carol.ks.getPublicKeyBundle()).teams.filter((t) => t.teamId === removed.id);
    expect(held.map((t) => t.generation)).not.toContain(gen);
  });
});

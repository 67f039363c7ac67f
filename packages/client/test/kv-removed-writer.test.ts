/**
 * Values written by a member who is no longer in the team (removed by an admin, which rotates
 * the team key, or gone by `team.leave`) stay readable by everyone else, and still name that
 * writer: the writer is checked against the team's verified chain — who held write rights while
 * the entry's key generation was current — not the current member list. A fresh client (memory
 * stores: no pins, no cached chains, as a new home or a paper-key login) is what reads, so no
 * name learnt earlier helps. Real server (SQLite), real in-process keystores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { inProcessClient, memoryStore, openKeystore } from '@saltbox/keystore';
import type { KeystoreApi } from '@saltbox/keystore';
import { openSaltbox, signup, teamWriterAt } from '../src/index.js';
import type { AccountConfig, Saltbox, VerifiedTeam } from '../src/index.js';
import { startTestServer } from './helpers.js';

const backend = await defaultBackend();
const CHEAP_KDF = { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } as const;

interface TestUser {
  ks: KeystoreApi;
  config: AccountConfig;
}

describe('kv values of a writer who left the team', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let alice: TestUser;
  let bob: TestUser;

  const user = async (username: string): Promise<TestUser> => {
    const ks = inProcessClient(await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF }));
    await ks.unlock({ passphrase: 'pass phrase', create: true });
    const server = srv.server.url;
    const { config } = await signup(
      { backend, keystore: ks, server },
      { username, deviceName: 'l' },
    );
    return { ks, config };
  };
  /** A client with no pins and no cached chains: what a new process or home starts from. */
  const fresh = (u: TestUser): Promise<Saltbox> =>
    openSaltbox({ config: u.config, keystore: u.ks });
  const kvTeam = async (s: Saltbox, name: string): Promise<VerifiedTeam> => {
    const team = await s.teams.load(name, { refresh: true });
    await s.useKvTeam(team);
    return team;
  };

  beforeAll(async () => {
    srv = await startTestServer();
    alice = await user('wra');
    bob = await user('wrb');
  });
  afterAll(async () => {
    await srv.close();
  });

  /** Alice makes `name` with bob as a writer; bob writes one value; returns the team ID. */
  const bobWrites = async (name: string): Promise<string> => {
    const a = await fresh(alice);
    const team = await a.manager.createTeam(name);
    await a.manager.addMember(name, 'wrb', 'writer');
    await a.close();
    const b = await fresh(bob);
    await kvTeam(b, name);
    await b.kv.put(team.id, 'ns', 'k', 'written by bob');
    await b.close();
    return team.id;
  };

  it('reads a value of a member removed since (the key rotated), naming the writer', async () => {
    const teamId = await bobWrites('wrremoved');
    const a = await fresh(alice);
    const after = await a.manager.removeMember('wrremoved', 'wrb');
    expect(after.members.map((m) => m.username)).toEqual(['wra']);
    expect(after.perTeamKeys).toHaveLength(2);
    await a.close();

    const reader = await fresh(alice);
    const team = await kvTeam(reader, 'wrremoved');
    const v = await reader.kv.get(teamId, 'ns', 'k');
    expect(v.value).toBe('written by bob');
    expect(v.teamKeyGen).toBe(1);
    expect(v.writer?.uid).toBe(bob.config.uid);
    expect(v.writer?.deviceId).toBe(bob.config.device.id);
    // The verified chain still names bob, as a writer of generation 1 but not of 2.
    expect(team.everMembers.map((m) => m.username)).toEqual(['wra', 'wrb']);
    expect(teamWriterAt(team, bob.config.uid, 1)).toBe('wrb');
    expect(teamWriterAt(team, bob.config.uid, 2)).toBeNull();
    // New values go on under the new generation.
    await reader.kv.put(teamId, 'ns', 'k2', 'after');
    expect((await reader.kv.get(teamId, 'ns', 'k2')).teamKeyGen).toBe(2);
    await reader.close();
  });

  it('reads a value of a member who left, naming the writer', async () => {
    const teamId = await bobWrites('wrleft');
    const b = await fresh(bob);
    await b.manager.leaveTeam('wrleft');
    await b.close();

    const reader = await fresh(alice);
    const team = await kvTeam(reader, 'wrleft');
    expect(team.members.map((m) => m.username)).toEqual(['wra']);
    const v = await reader.kv.get(teamId, 'ns', 'k');
    expect(v.value).toBe('written by bob');
    expect(v.writer?.uid).toBe(bob.config.uid);
    expect(teamWriterAt(team, bob.config.uid, v.teamKeyGen)).toBe('wrb');
    await reader.close();
  });

  it('reads without useKvTeam for the writer check: the lookup loads the verified team', async () => {
    const teamId = await bobWrites('wrnouse');
    const reader = await fresh(alice);
    // Only the key boxes are opened here (as `syncKeys` does); no team is given to KV.
    await reader.syncKeys();
    const v = await reader.kv.get(teamId, 'ns', 'k');
    expect(v.value).toBe('written by bob');
    expect(v.writer?.uid).toBe(bob.config.uid);
    await reader.close();
  });
});

describe('teamWriterAt', () => {
  const key = (generation: number, seqno: number) => ({
    generation,
    seqno,
    signingKid: '',
    encryptionKid: '',
    merkleRoot: null,
  });
  const team = (roles: { seqno: number; role: 'reader' | 'writer' | 'none' | 'owner' }[]) =>
    ({
      everMembers: [{ uid: 'u1', username: 'carol', roles }],
      perTeamKeys: [key(1, 1), key(2, 5), key(3, 9)],
    }) as unknown as VerifiedTeam;

  it('names a writer whose write rights overlap the generation, and nobody else', () => {
    // Writer from link 2, removed with the rotation at link 5.
    const removed = team([
      { seqno: 2, role: 'writer' },
      { seqno: 5, role: 'none' },
    ]);
    expect(teamWriterAt(removed, 'u1', 1)).toBe('carol');
    expect(teamWriterAt(removed, 'u1', 2)).toBeNull();
    expect(teamWriterAt(removed, 'u2', 1)).toBeNull();
    expect(teamWriterAt(removed, 'u1', 4)).toBeNull();
    // A reader never writes; promoted within generation 2, demoted at generation 3.
    const promoted = team([
      { seqno: 2, role: 'reader' },
      { seqno: 7, role: 'writer' },
      { seqno: 9, role: 'reader' },
    ]);
    expect(teamWriterAt(promoted, 'u1', 1)).toBeNull();
    expect(teamWriterAt(promoted, 'u1', 2)).toBe('carol');
    expect(teamWriterAt(promoted, 'u1', 3)).toBeNull();
    // An owner from the first link who left (no rotation): the current generation still counts.
    const left = team([
      { seqno: 1, role: 'owner' },
      { seqno: 10, role: 'none' },
    ]);
    expect(teamWriterAt(left, 'u1', 3)).toBe('carol');
  });
});

/**
 * Same answers either way (issue #15.4): one scenario — `kv` put/get/list/del, `kvstore api`
 * (one-shot and streamed, with its error cases: wrong revision, non-member, missing entry, bad
 * JSON), encrypt/decrypt and a team — run by the built CLI against a real `saltbox server`
 * process, once in-process (no agent: the keystore opened in each command) and once through a
 * running, unlocked agent (the client service answers KV and `kvstore api`). Every step's exit
 * code, standard output and standard error must be identical in both modes, up to the names of
 * the users and teams (each mode has its own).
 *
 * The team part is also the freshness check: a member removed by another process (the owner's
 * home) is refused on the removed member's next call, although their agent had just served a
 * write to that team from its warm state.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accountHomes, ok, runAs, useAccountServer } from './helpers.js';
import type { AccountHome, RunResult } from './helpers.js';
import { connectAgent } from '@saltbox/keystore/node';
import { socketPathOf } from './keystore-helpers.js';

let url = '';
const { newHome, cleanup } = accountHomes();
useAccountServer((u) => {
  url = u;
}, cleanup);

type Mode = 'in-process' | 'agent';

/** One step's observable result, with the mode's names and paths replaced. */
interface Observed {
  step: string;
  code: number | null;
  out: string;
  err: string;
}

const agents: AccountHome[] = [];
afterAll(async () => {
  for (const home of agents) await runAs(home, ['agent', 'stop']);
});

/** What the client service of the agent of `home` reports (`client.status`). */
async function serviceStatus(
  home: AccountHome,
): Promise<{ warm: boolean; username: string | null; served: number }> {
  const agent = await connectAgent(socketPathOf(home.dir));
  try {
    return (await agent.callExtra('client.status')) as {
      warm: boolean;
      username: string | null;
      served: number;
    };
  } finally {
    await agent.close();
  }
}

/** Alice's agent's service status after the agent-mode scenario. */
let aliceService: Awaited<ReturnType<typeof serviceStatus>> | undefined;

/** Runs the whole scenario in one mode; returns what every step printed. */
async function scenario(mode: Mode, n: number): Promise<Observed[]> {
  const alice = newHome();
  const bob = newHome();
  const [a, b, team, bobTeam] = [`alice${n}`, `bob${n}`, `crew${n}`, `bobsown${n}`];
  const normalise = (s: string): string =>
    s
      .replaceAll(alice.dir, 'ALICE_HOME')
      .replaceAll(bob.dir, 'BOB_HOME')
      .replaceAll(bobTeam, 'BOBTEAM')
      .replaceAll(team, 'TEAM')
      .replaceAll(a, 'ALICE')
      .replaceAll(b, 'BOB');
  const seen: Observed[] = [];
  const step = async (
    name: string,
    who: AccountHome,
    args: string[],
    input?: string,
  ): Promise<RunResult> => {
    const r = await runAs(who, args, {}, input);
    seen.push({ step: name, code: r.code, out: normalise(r.out), err: normalise(r.stderr) });
    return r;
  };

  ok(await runAs(alice, ['signup', a, '--server', url]));
  ok(await runAs(bob, ['signup', b, '--server', url]));
  if (mode === 'agent') {
    for (const home of [alice, bob]) {
      ok(await runAs(home, ['agent', 'start']));
      agents.push(home);
      ok(await runAs(home, ['unlock']));
      expect(existsSync(socketPathOf(home.dir))).toBe(true);
    }
  }

  // kv: a missing entry, put, get, a stale revision, list, delete.
  await step('get missing', alice, ['kv', 'get', 'ns', 'k']);
  await step('get missing --json', alice, ['kv', 'get', '--json', 'ns', 'k']);
  await step('put', alice, ['kv', 'put', 'ns', 'k', 'first value']);
  await step('put from stdin', alice, ['kv', 'put', 'ns', 'k2'], 'line one\nline two\n');
  await step('get', alice, ['kv', 'get', 'ns', 'k']);
  await step('get stdin value', alice, ['kv', 'get', 'ns', 'k2']);
  await step('put stale revision', alice, ['kv', 'put', '--revision', '1', 'ns', 'k', 'x']);
  await step('put --json', alice, ['kv', 'put', '--json', 'ns', 'k', 'second']);
  await step('list namespaces', alice, ['kv', 'list']);
  await step('list keys', alice, ['kv', 'list', 'ns']);
  await step('del', alice, ['kv', 'del', 'ns', 'k2']);
  await step('get deleted', alice, ['kv', 'get', '--json', 'ns', 'k2']);
  await step('del again', alice, ['kv', 'del', 'ns', 'k2']);

  // kvstore api: one-shot (-m) and streamed (standard input), with its error cases.
  const req = (method: string, options: Record<string, unknown>): string =>
    JSON.stringify({ method, params: { options } });
  await step('api -m get', alice, [
    'kvstore',
    'api',
    '-m',
    req('get', { namespace: 'ns', entryKey: 'k' }),
  ]);
  await step(
    'api stream',
    alice,
    ['kvstore', 'api'],
    [
      req('put', { namespace: 'api', entryKey: 'e', entryValue: 'v1' }),
      req('put', { namespace: 'api', entryKey: 'e', entryValue: 'v2', revision: 1 }),
      req('get', { namespace: 'api', entryKey: 'e' }),
      req('del', { namespace: 'api', entryKey: 'missing' }),
      req('list', { namespace: 'api' }),
      req('list', {}),
      '{"method": "get", "params": {"options": {"namespace": 7}}}',
      '{"method":"nope"}',
    ].join('\n'),
  );
  await step('api pretty', alice, ['kvstore', 'api', '-p'], req('list', {}));
  await step('api bad json', alice, ['kvstore', 'api'], '{"method": "get", ');

  // A team: a member writes and reads; a non-member is refused; a removal made by another
  // process (the owner's home) is seen on the removed member's next call.
  ok(await runAs(bob, ['team', 'create', team]));
  ok(await runAs(bob, ['team', 'create', bobTeam]));
  ok(await runAs(bob, ['team', 'add', team, a]));
  await step('non-member get', alice, ['kv', 'get', '--team', bobTeam, 'ns', 'k']);
  await step('non-member api', alice, [
    'kvstore',
    'api',
    '-m',
    req('get', { teamName: bobTeam, namespace: 'ns', entryKey: 'k' }),
  ]);
  await step('no such team', alice, ['kv', 'get', '--team', `${team}x`, 'ns', 'k']);
  await step('member put', alice, ['kv', 'put', '--team', team, 'ns', 'k', 'shared']);
  await step('owner get', bob, ['kv', 'get', '--team', team, 'ns', 'k']);
  await step('member get', alice, ['kv', 'get', '--team', team, 'ns', 'k']);
  ok(await runAs(bob, ['team', 'remove', team, a]));
  await step('removed member get', alice, ['kv', 'get', '--team', team, 'ns', 'k']);
  await step('removed member put', alice, ['kv', 'put', '--team', team, 'ns', 'k', 'mine']);
  await step('owner get after', bob, ['kv', 'get', '--team', team, 'ns', 'k']);

  // Encrypt and decrypt (ciphertexts differ by their random keys; what decrypts must not).
  const msg = join(alice.dir, 'msg.txt');
  writeFileSync(msg, 'for bob only\n');
  const ct = join(alice.dir, 'msg.saltpack');
  await step('encrypt', alice, ['encrypt', '-r', b, '-a', '-i', msg, '-o', ct]);
  await step('decrypt by recipient', bob, ['decrypt', '-i', ct]);
  await step('decrypt by sender', alice, ['decrypt', '--json', '-i', ct]);
  if (mode === 'agent') aliceService = await serviceStatus(alice);
  return seen;
}

describe(
  'client operations answer the same in-process and through the agent',
  {
    timeout: 900_000,
  },
  () => {
    const results: Partial<Record<Mode, Observed[]>> = {};

    it('in-process: the scenario runs with the expected answers', async () => {
      const seen = await scenario('in-process', 1);
      results['in-process'] = seen;
      const at = (name: string): Observed => seen.find((s) => s.step === name)!;
      expect(at('get').out).toBe('first value');
      expect(at('get stdin value').out).toBe('line one\nline two\n');
      expect(at('put stale revision').code).toBe(1);
      expect(at('put stale revision').err).toContain('error 2760');
      expect(at('member get').out).toBe('shared');
      expect(at('removed member get').code).toBe(1);
      // The value a member wrote before being removed still reads for the owner.
      expect(at('owner get after')).toMatchObject({ code: 0, out: 'shared' });
      expect(at('decrypt by recipient').out).toBe('for bob only\n');
    });

    it('through the agent: every step answers exactly as in-process', async () => {
      const seen = await scenario('agent', 2);
      results.agent = seen;
      expect(seen).toEqual(results['in-process']);
    });

    it('through the agent, the KV requests were answered by its warm client', () => {
      // Each kv command is one request; the api steps hold 1 + 8 + 1 + 1 + 1 requests. Without
      // the service the agent answers none (the commands would have run in-process).
      expect(aliceService).toMatchObject({ warm: true, username: 'alice2' });
      expect(aliceService!.served).toBeGreaterThanOrEqual(25);
    });

    it('the warm agent saw the removal made by another process on the next call', () => {
      const at = (name: string): Observed => results.agent!.find((s) => s.step === name)!;
      expect(at('member get')).toMatchObject({ code: 0, out: 'shared' });
      expect(at('removed member get').code).toBe(1);
      expect(at('removed member get').err).not.toContain('shared');
      expect(at('removed member put').code).toBe(1);
    });
  },
);

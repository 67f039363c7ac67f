/**
 * `saltbox run` and `saltbox inject` end to end: the built CLI against a real `saltbox server`
 * process, real accounts (alice, bob in team acme, carol outside it) and real child processes
 * (Node scripts): values with unicode and several lines, a name with `/` percent-encoded,
 * masking of values written one byte at a time, output that streams while the child waits on
 * standard input, exit codes and signals passed through, references that cannot be read
 * stopping before the child runs, env files, team references, the 1 MiB value (too large for a
 * Linux environment variable, fine for inject), and inject's 0600 atomic file.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, accountHomes, ensureBuilt, ok, runAs as sb, startAccountServer } from './helpers.js';
import type { AccountHome, RunResult } from './helpers.js';

const CONCEALED = '<concealed by saltbox>';
const GREETING = 'héllo wörld ✓ 🔑';
const MULTI = 'line one\nline two — ünïcödé\n  indented 🔐\n';
const TEAM_SECRET = 'acme-db-p@ss';
const SLASHED = 'value under a slashed name';
const BIG = Buffer.alloc(1 << 20, 'x');
for (let i = 0; i < BIG.length; i += 97) BIG[i] = 0x30 + (i % 10);

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

let stopServer = (): Promise<void> => Promise.resolve();
let url = '';
const { newHome, cleanup } = accountHomes();
const alice = newHome();
const bob = newHome();
const carol = newHome();

/** `node -e SCRIPT` as the command of `saltbox run`. */
const node = (script: string): string[] => [process.execPath, '-e', script];

/** A running `saltbox` (for signals and standard input), with its output so far. */
function start(home: AccountHome, args: string[], extra: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, SALTBOX_DEBUG: '', ...home.env, ...extra },
    cwd: home.dir,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const out: Buffer[] = [];
  let err = '';
  const waiters: (() => void)[] = [];
  const notify = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', (b: Buffer) => {
    out.push(b);
    notify();
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
    notify();
  });
  const done = new Promise<RunResult & { signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out);
      resolve({ code, signal, stdout, out: stdout.toString(), stderr: err });
    });
  });
  return {
    child,
    done,
    /** Resolves once standard output contains `text` (fails the test after 60 s). */
    async waitFor(text: string): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (!Buffer.concat(out).toString().includes(text)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`no "${text}" on stdout: ${Buffer.concat(out).toString()} ${err}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
  };
}

beforeAll(async () => {
  await ensureBuilt();
  const started = await startAccountServer();
  url = started.url;
  stopServer = started.stop;
  for (const [home, name] of [
    [alice, 'alice'],
    [bob, 'bob'],
    [carol, 'carol'],
  ] as const)
    ok(await sb(home, ['signup', name, '--server', url, '--device-name', `${name}-pc`]));
  ok(await sb(alice, ['kv', 'put', 'app', 'greeting', GREETING]));
  ok(await sb(alice, ['kv', 'put', 'app', 'multi', MULTI]));
  ok(await sb(alice, ['kv', 'put', 'ci/cd', 'clé', SLASHED]));
  ok(await sb(alice, ['kv', 'put', 'app', 'big'], {}, BIG));
  ok(await sb(alice, ['team', 'create', 'acme']));
  ok(await sb(alice, ['team', 'add', 'acme', 'bob']));
  ok(await sb(alice, ['kv', 'put', '--team', 'acme', 'prod', 'db', TEAM_SECRET]));
}, 600_000);

afterAll(async () => {
  await stopServer();
  cleanup();
});

/** Prints each named variable's SHA-256 (proof of the value) and the value itself. */
const REPORT = `
const { createHash } = require('node:crypto');
for (const name of process.argv.slice(1)) {
  const v = process.env[name] ?? '';
  process.stdout.write(name + ' ' + createHash('sha256').update(v).digest('hex') + ' [' + v + ']\\n');
  process.stderr.write('err:' + v + '\\n');
}`;

describe('saltbox run', { timeout: 300_000 }, () => {
  it('gives CMD the values of references (unicode, multi-line, %2F) and masks them', async () => {
    const env = {
      GREETING: 'saltbox:///app/greeting',
      MULTI: 'saltbox:///app/multi',
      SLASHED: 'saltbox:///ci%2Fcd/cl%C3%A9',
      PLAIN: 'not a reference',
    };
    const names = ['GREETING', 'MULTI', 'SLASHED', 'PLAIN'];
    const r = ok(await sb(alice, ['run', '--', ...node(REPORT), ...names], env));
    expect(r.out).toBe(
      `GREETING ${sha(GREETING)} [${CONCEALED}]\n` +
        `MULTI ${sha(MULTI)} [${CONCEALED}]\n` +
        `SLASHED ${sha(SLASHED)} [${CONCEALED}]\n` +
        `PLAIN ${sha('not a reference')} [not a reference]\n`,
    );
    expect(r.stderr).toBe(
      `err:${CONCEALED}\nerr:${CONCEALED}\nerr:${CONCEALED}\nerr:not a reference\n`,
    );

    // --no-masking: the values as they are (and the child's own streams).
    const raw = ok(await sb(alice, ['run', '--no-masking', '--', ...node(REPORT), ...names], env));
    expect(raw.out).toContain(`GREETING ${sha(GREETING)} [${GREETING}]\n`);
    expect(raw.out).toContain(`MULTI ${sha(MULTI)} [${MULTI}]\n`);
    expect(raw.stderr).toContain(`err:${SLASHED}\n`);
  });

  it('masks values written one byte at a time, across reads and lines', async () => {
    const script = `
const env = process.env;
const bytes = Buffer.from('a:' + env.MULTI + '|b:' + env.GREETING + '|end\\n');
let i = 0;
const next = () => {
  if (i === bytes.length) return;
  process.stdout.write(bytes.subarray(i, i + 1));
  process.stderr.write(bytes.subarray(i, i + 1));
  i++;
  setTimeout(next, 1);
};
next();`;
    const r = ok(
      await sb(alice, ['run', '--', ...node(script)], {
        MULTI: 'saltbox:///app/multi',
        GREETING: 'saltbox:///app/greeting',
      }),
    );
    expect(r.out).toBe(`a:${CONCEALED}|b:${CONCEALED}|end\n`);
    expect(r.stderr).toBe(`a:${CONCEALED}|b:${CONCEALED}|end\n`);
  });

  it("streams CMD's output while it runs and passes standard input through", async () => {
    const script = `
process.stdout.write('prompt: ' + process.env.GREETING + '\\n');
process.stdin.once('data', (d) => {
  process.stdout.write('got ' + d.toString().trim() + '\\n');
  process.exit(0);
});`;
    const p = start(alice, ['run', '--', ...node(script)], { GREETING: 'saltbox:///app/greeting' });
    // The child waits for input: its first line must arrive before it ends.
    await p.waitFor(`prompt: ${CONCEALED}\n`);
    p.child.stdin.end('answer\n');
    const r = await p.done;
    expect(r.code).toBe(0);
    expect(r.out).toBe(`prompt: ${CONCEALED}\ngot answer\n`);
  });

  it('exits with the exit code of CMD, and 128 + n when signal n killed it', async () => {
    const seven = await sb(alice, ['run', '--', ...node('process.exit(7)')]);
    expect(seven.code).toBe(7);
    const killed = await sb(alice, ['run', '--', ...node("process.kill(process.pid, 'SIGKILL')")]);
    expect(killed.code).toBe(128 + 9);
    const missing = await sb(alice, ['run', '--', 'saltbox-no-such-command']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('saltbox: command not found: saltbox-no-such-command');
  });

  it('passes SIGTERM and SIGINT on to CMD and exits as CMD did', async () => {
    const trap = `
process.on('SIGTERM', () => { process.stdout.write('child got SIGTERM\\n'); process.exit(42); });
process.stdout.write('ready\\n');
setTimeout(() => process.exit(3), 20000);`;
    const t = start(alice, ['run', '--', ...node(trap)]);
    await t.waitFor('ready\n');
    t.child.kill('SIGTERM');
    const tr = await t.done;
    expect(tr.out).toBe('ready\nchild got SIGTERM\n');
    expect(tr.code).toBe(42);

    // No handler in the child: SIGINT kills it, and saltbox reports 128 + 2.
    const i = start(alice, [
      'run',
      '--',
      ...node("process.stdout.write('ready\\n'); setTimeout(() => process.exit(3), 20000);"),
    ]);
    await i.waitFor('ready\n');
    i.child.kill('SIGINT');
    const ir = await i.done;
    expect(ir.code).toBe(130);
  });

  it('stops before CMD runs when a reference cannot be read', async () => {
    const marker = join(alice.dir, 'ran');
    const cmd = node(`require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x')`);

    // A --json after `--` is the command's, not saltbox's: the error stays text.
    const unset = await sb(alice, ['run', '--', ...cmd, '--json'], {
      OK: 'saltbox:///app/greeting',
      NOPE: 'saltbox:///app/missing',
    });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toBe(
      'saltbox: NOPE: no value at saltbox:///app/missing\n' +
        "saltbox: hint: see what is there with 'saltbox kv list app'\n",
    );

    const twoParts = await sb(alice, ['run', '--', ...cmd], { X: 'saltbox://app/greeting' });
    expect(twoParts.code).toBe(2);
    expect(twoParts.stderr).toContain('X: two parts where three are needed');
    expect(twoParts.stderr).toContain('saltbox:///NAMESPACE/KEY for your own store');

    // carol is not in acme: refused by the verifying client, before anything runs.
    const outsider = await sb(carol, ['run', '--', ...cmd], { DB: 'saltbox://acme/prod/db' });
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toMatch(/^saltbox: DB: cannot read saltbox:\/\/acme\/prod\/db: /);

    // Too large for a Linux environment variable: said so, with the way out.
    const big = await sb(alice, ['run', '--', ...cmd], { BIG: 'saltbox:///app/big' });
    expect(big.code).toBe(1);
    expect(big.stderr).toContain('BIG: the value of saltbox:///app/big is 1048576 bytes');
    expect(big.stderr).toContain("saltbox: hint: write it to a file with 'saltbox inject'");

    expect(existsSync(marker)).toBe(false);
    for (const r of [unset, twoParts, outsider, big]) expect(r.out).toBe('');
  });

  it('reads --env-file files (dotenv syntax; later files win) and team references', async () => {
    const first = join(bob.dir, 'first.env');
    const second = join(bob.dir, 'second.env');
    writeFileSync(
      first,
      [
        '# database',
        'export DB=saltbox://acme/prod/db',
        'QUOTED="two\\nlines"   # a comment',
        "LITERAL='$HOME \\n'",
        'OVERRIDDEN=first',
        'FROM_ENV=file',
        '',
      ].join('\n'),
    );
    writeFileSync(second, 'OVERRIDDEN = second\r\n');
    const names = ['DB', 'QUOTED', 'LITERAL', 'OVERRIDDEN', 'FROM_ENV'];
    const r = ok(
      await sb(
        bob,
        ['run', '--env-file', first, '--env-file', second, '--', ...node(REPORT), ...names],
        { FROM_ENV: 'environment' },
      ),
    );
    expect(r.out).toBe(
      `DB ${sha(TEAM_SECRET)} [${CONCEALED}]\n` +
        `QUOTED ${sha('two\nlines')} [two\nlines]\n` +
        `LITERAL ${sha('$HOME \\n')} [$HOME \\n]\n` +
        `OVERRIDDEN ${sha('second')} [second]\n` +
        `FROM_ENV ${sha('file')} [file]\n`,
    );

    const broken = join(bob.dir, 'broken.env');
    writeFileSync(broken, 'GOOD=1\nBAD="never closed\n');
    const marker = join(bob.dir, 'ran');
    const bad = await sb(bob, [
      'run',
      '--env-file',
      broken,
      '--',
      ...node(`require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x')`),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`saltbox: ${broken} line 2: unterminated "-quoted value of BAD`);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('saltbox inject', { timeout: 300_000 }, () => {
  it('fills {{ saltbox://… }} into a 0600 file replaced atomically', async () => {
    const template = join(bob.dir, 'app.tmpl');
    const output = join(bob.dir, 'app.conf');
    writeFileSync(
      template,
      'db = {{saltbox://acme/prod/db}}\nagain = {{   saltbox://acme/prod/db  }}\nother = {{ not.ours }}\n',
    );
    writeFileSync(output, 'old contents\n', { mode: 0o644 });
    const r = ok(await sb(bob, ['inject', '-i', template, '-o', output]));
    expect(r.out).toBe('');
    expect(readFileSync(output, 'utf8')).toBe(
      `db = ${TEAM_SECRET}\nagain = ${TEAM_SECRET}\nother = {{ not.ours }}\n`,
    );
    expect(statSync(output).mode & 0o777).toBe(0o600);

    // Standard input to standard output, unicode and several lines, the 1 MiB value.
    const piped = ok(
      await sb(
        alice,
        ['inject'],
        {},
        '[{{ saltbox:///app/multi }}]({{ saltbox:///ci%2Fcd/clé }}){{saltbox:///app/big}}',
      ),
    );
    expect(piped.stdout.equals(Buffer.concat([Buffer.from(`[${MULTI}](${SLASHED})`), BIG]))).toBe(
      true,
    );
  });

  it('writes nothing when a reference cannot be read', async () => {
    const dir = mkdtempSync(join(bob.dir, 'out-'));
    const template = join(dir, 'bad.tmpl');
    const output = join(dir, 'kept.conf');
    writeFileSync(
      template,
      'db = {{ saltbox://acme/prod/db }}\nx = {{ saltbox://acme/prod/nope }}\n',
    );
    writeFileSync(output, 'old contents\n', { mode: 0o644 });
    const before = readdirSync(dir).sort();
    const r = await sb(bob, ['inject', '-i', template, '-o', output]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`saltbox: ${template} line 2: no value at saltbox://acme/prod/nope`);
    expect(readFileSync(output, 'utf8')).toBe('old contents\n');
    expect(statSync(output).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(before);

    const unclosed = await sb(bob, ['inject', '-o', output], {}, 'a {{ saltbox:///app/x\n');
    expect(unclosed.code).toBe(2);
    expect(unclosed.stderr).toContain('standard input line 1: a {{ saltbox:// without its }}');
    expect(readFileSync(output, 'utf8')).toBe('old contents\n');
  });
});

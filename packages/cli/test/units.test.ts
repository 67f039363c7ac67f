/**
 * In-process tests of the pure parts: recipient classification, the error table, error
 * reporting, progress rendering, default paths and key file checks.
 */
import { KeystoreError, isKeystoreErrorCode } from '@saltbox/keystore';
import { SaltpackError } from '@saltbox/saltpack';
import { describe, expect, it } from 'vitest';
import { CliError, ERROR_TABLE, EXIT } from '../src/errors.js';
import { saltboxHome as keystoreSaltboxHome } from '@saltbox/keystore/paths';
import { parseKeyFile, saltboxHome } from '../src/keys.js';
import { formatDuration, parseDuration } from '../src/keystore-commands.js';
import { readPassphrase } from '../src/passphrase.js';
import { createProgress, renderProgress } from '../src/progress.js';
import {
  directoryResolver,
  offlineResolver,
  parseRecipient,
  parseSigningPublicKey,
  userRecipientKids,
} from '../src/recipients.js';
import { displayText, reportError } from '../src/ui.js';
import { describeKey, ownerCheckFailure } from '../src/senders.js';
import { ClientError } from '@saltbox/client';

const hex = 'ab'.repeat(32);

function capture() {
  const lines = { stdout: '', stderr: '' };
  return {
    lines,
    console: {
      stdout: (t: string) => (lines.stdout += t),
      stderr: (t: string) => (lines.stderr += t),
    },
  };
}

describe('parseRecipient', () => {
  it('classifies keys, KIDs, users and teams', () => {
    expect(parseRecipient(hex)).toMatchObject({ kind: 'key', text: hex });
    expect(parseRecipient(hex.toUpperCase()).kind).toBe('key');
    const kid = parseRecipient(`0121${hex}0a`);
    expect(kid.kind === 'key' && Buffer.from(kid.publicKey).toString('hex')).toBe(hex);
    expect(parseRecipient('Alice_99')).toEqual({ kind: 'user', name: 'alice_99' });
    expect(parseRecipient('team:Acme.infra')).toEqual({ kind: 'team', name: 'acme.infra' });
  });

  it('refuses what is none of them, with coded errors', () => {
    for (const bad of [
      '',
      'a',
      hex.slice(2),
      `0120${hex}0a`,
      'team:',
      'x'.repeat(17),
      'a,b',
      '_bob',
    ]) {
      expect(() => parseRecipient(bad), bad).toThrow(CliError);
      try {
        parseRecipient(bad);
      } catch (e) {
        expect((e as CliError).code).toBe('CLI_BAD_RECIPIENT');
      }
    }
  });

  it('parses signing keys in hex or KID form only', () => {
    expect(parseSigningPublicKey(`0120${hex}0a`)).toEqual(parseSigningPublicKey(hex));
    expect(() => parseSigningPublicKey(`0121${hex}0a`)).toThrow(/invalid signing public key/);
  });

  it('offline resolver: keys pass, users and teams need the directory', async () => {
    const keys = await offlineResolver.resolve([parseRecipient(hex)]);
    expect(keys).toHaveLength(1);
    await expect(offlineResolver.resolve([parseRecipient('bob')])).rejects.toMatchObject({
      code: 'CLI_RECIPIENT_UNAVAILABLE',
    });
  });
});

describe('directory resolver', () => {
  const kid = (n: number) => `0121${n.toString(16).padStart(2, '0').repeat(32)}0a`;
  const alice = {
    username: 'alice',
    subkeys: [kid(1), kid(2)],
    perUserKeys: [
      { generation: 2, encryptionKid: kid(9) },
      { generation: 1, encryptionKid: kid(8) },
    ],
  };

  it("a user's keys: the newest PUK generation and every live device and paper key", () => {
    expect(userRecipientKids(alice)).toEqual([kid(9), kid(1), kid(2)]);
    expect(() => userRecipientKids({ username: 'x', subkeys: [], perUserKeys: [] })).toThrow(
      /no live encryption key/,
    );
  });

  it('opens the directory only for names, once, and drops duplicate keys', async () => {
    let opened = 0;
    const resolver = directoryResolver(() => {
      opened += 1;
      return Promise.resolve({ loadUser: () => Promise.resolve(alice) });
    });
    expect(await resolver.resolve([parseRecipient(hex)])).toHaveLength(1);
    expect(opened).toBe(0);
    const keys = await resolver.resolve([
      parseRecipient('alice'),
      parseRecipient('alice'),
      parseRecipient(kid(1)),
    ]);
    expect(opened).toBe(1);
    expect(keys.map((k) => Buffer.from(k).toString('hex'))).toEqual(
      [kid(9), kid(1), kid(2)].map((k) => k.slice(4, 68)),
    );
    await expect(resolver.resolve([parseRecipient('team:acme')])).rejects.toMatchObject({
      code: 'CLI_RECIPIENT_UNAVAILABLE',
    });
  });
});

describe('client errors', () => {
  it('keep their code and message; a code the table does not list exits 1', () => {
    const { stderr, console: out } = (() => {
      const lines = { stderr: '' };
      return {
        stderr: () => lines.stderr,
        console: { stdout: () => undefined, stderr: (t: string) => void (lines.stderr += t) },
      };
    })();
    const future = Object.assign(new Error('a new client failure'), {
      name: 'ClientError',
      code: 'CLIENT_SOMETHING_NEW',
      details: {},
    });
    expect(reportError(out, future, { json: true, context: {} })).toBe(1);
    expect(JSON.parse(stderr())).toEqual({
      error: { code: 'CLIENT_SOMETHING_NEW', message: 'a new client failure' },
    });
    const taken = Object.assign(new Error('server error USERNAME_TAKEN: bob is taken'), {
      name: 'ClientError',
      code: 'CLIENT_HTTP',
      details: { status: 409, serverCode: 'USERNAME_TAKEN' },
    });
    expect(reportError(out, taken, { json: false, context: {} })).toBe(1);
    expect(stderr()).toContain('saltbox: hint: choose another username');
  });
});

describe('errors', () => {
  it('every code maps to an exit code; usage is 2, keys 3, i/o 4', () => {
    for (const entry of Object.values(ERROR_TABLE)) expect(entry.exit).toBeGreaterThan(0);
    expect(ERROR_TABLE.CLI_USAGE.exit).toBe(EXIT.usage);
    expect(ERROR_TABLE.SALTPACK_NO_DECRYPTION_KEY.exit).toBe(EXIT.key);
    expect(ERROR_TABLE.CLI_IO.exit).toBe(EXIT.io);
  });

  it('maps every keystore code (a KeystoreError keeps its code, message and a hint)', () => {
    const codes = Object.keys(ERROR_TABLE).filter((c) => c.startsWith('KEYSTORE_'));
    expect(codes.length).toBeGreaterThan(10);
    for (const c of codes) expect(isKeystoreErrorCode(c)).toBe(true);
    const { lines, console } = capture();
    const code = reportError(console, new KeystoreError('KEYSTORE_LOCKED', 'keystore is locked'), {
      json: false,
      context: { command: 'sign' },
    });
    expect(code).toBe(EXIT.key);
    expect(lines.stderr).toBe("saltbox: keystore is locked\nsaltbox: hint: run 'saltbox unlock'\n");
  });

  it('reports SaltpackErrors with the table hint, lowercase and prefixed', () => {
    const { lines, console } = capture();
    const code = reportError(console, new SaltpackError('unexpected_eof', 'message truncated'), {
      json: false,
      context: { command: 'decrypt' },
    });
    expect(code).toBe(1);
    expect(lines.stderr).toBe(
      'saltbox: message truncated\n' +
        'saltbox: hint: the input ended early; the file may be incomplete (an interrupted copy?)\n',
    );
  });

  it('never prints the message of an unexpected error', () => {
    const { lines, console } = capture();
    const code = reportError(console, new Error('secret plaintext here'), {
      json: true,
      context: {},
    });
    expect(code).toBe(1);
    expect(JSON.parse(lines.stderr)).toEqual({
      error: { code: 'CLI_INTERNAL', message: 'unexpected internal error' },
    });
  });

  it('CliError.toJSON is {code, message}', () => {
    expect(JSON.stringify(new CliError('CLI_USAGE', 'bad', { hint: 'h' }))).toBe(
      '{"code":"CLI_USAGE","message":"bad"}',
    );
  });
});

describe('progress', () => {
  it('renders a bar with percentage, sizes and speed', () => {
    expect(renderProgress(128 * 1024 * 1024, 256 * 1024 * 1024, 1000)).toBe(
      '[############------------]  50%  128.0/256.0 MiB  134 MB/s',
    );
    expect(renderProgress(32 * 1024 * 1024, undefined, 2000)).toBe('32.0 MiB  17 MB/s');
  });

  it('draws only on a TTY and only for large inputs', () => {
    let written = '';
    const target = (isTTY: boolean) => ({ isTTY, write: (t: string) => (written += t) });
    let t = 0;
    const clock = () => (t += 200);
    const notTty = createProgress(1 << 30, target(false), clock);
    notTty.add(1 << 30);
    notTty.finish();
    const small = createProgress(1024, target(true), clock);
    small.add(1024);
    expect(written).toBe('');
    const big = createProgress(64 << 20, target(true), clock);
    big.add(32 << 20);
    expect(written).toContain(' 50%');
    big.finish();
    expect(written.endsWith('\r\x1b[K')).toBe(true);
    written = '';
    const unknown = createProgress(undefined, target(true), clock);
    unknown.add(8 << 20);
    expect(written).toBe(''); // unknown size: silent until 16 MiB
    unknown.add(9 << 20);
    expect(written).toContain('17.0 MiB');
  });
});

describe('key files and paths', () => {
  // The per-platform table is tested where the rule lives (packages/keystore/test/paths.test.ts);
  // here only that the CLI uses that one rule rather than a copy.
  it("resolves SALTBOX_HOME with the keystore package's rule", () => {
    for (const env of [
      { SALTBOX_HOME: '/x' },
      { XDG_CONFIG_HOME: '' },
      { XDG_CONFIG_HOME: 'rel' },
    ]) {
      expect(saltboxHome({ env, platform: 'linux' })).toBe(
        keystoreSaltboxHome({ env, platform: 'linux' }),
      );
    }
    expect(saltboxHome({ env: { XDG_CONFIG_HOME: '' }, platform: 'linux', homedir: '/h' })).toBe(
      '/h/.config/saltbox',
    );
  });

  it('refuses damaged key files with coded errors', async () => {
    await expect(parseKeyFile('{', 'k')).rejects.toMatchObject({ code: 'CLI_BAD_KEY_FILE' });
    await expect(parseKeyFile('{"type":"other"}', 'k')).rejects.toMatchObject({
      code: 'CLI_BAD_KEY_FILE',
    });
    const mismatched = JSON.stringify({
      type: 'saltbox-saltpack-key',
      version: 1,
      encryption: { public: hex, secret: '01'.repeat(32) },
      signing: { public: hex, seed: '02'.repeat(32) },
    });
    await expect(parseKeyFile(mismatched, 'k')).rejects.toThrow(/does not match its secret/);
  });
});

describe('keystore command helpers', () => {
  it('parses and formats --idle-lock durations', () => {
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('never')).toBeNull();
    expect(parseDuration('0')).toBeNull();
    for (const bad of ['', '10', 'soon', '-1m', '1y', '100d']) {
      expect(() => parseDuration(bad)).toThrow(CliError);
    }
    expect(formatDuration(900_000)).toBe('15m');
    expect(formatDuration(5_400_000)).toBe('90m');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(null)).toBe('never');
  });

  it('reads a passphrase from the environment; an empty variable counts as unset', async () => {
    await expect(readPassphrase({ prompt: 'x', env: { SALTBOX_PASSPHRASE: 'p w' } })).resolves.toBe(
      'p w',
    );
    const tooLong = readPassphrase({ prompt: 'x', env: { SALTBOX_PASSPHRASE: 'a'.repeat(5000) } });
    await expect(tooLong).rejects.toMatchObject({ code: 'CLI_BAD_PASSPHRASE' });
  });
});

describe('displayText (#12.16)', () => {
  it('escapes C0, DEL, C1 and bidi controls and leaves other text alone', () => {
    expect(displayText('plain name, ünïcode ✓ 名前')).toBe('plain name, ünïcode ✓ 名前');
    expect(displayText('a\u001b]52;c;ZXZpbA==\u0007b')).toBe('a\\x1b]52;c;ZXZpbA==\\x07b');
    expect(displayText('\u009b31m\u007f')).toBe('\\x9b31m\\x7f');
    expect(displayText('txt.\u202eexe\u2066')).toBe('txt.\\u202eexe\\u2066');
    expect(displayText('tab\tnewline\n')).toBe('tab\\x09newline\\x0a');
  });

  it('reportError escapes a message that quotes a name', () => {
    const err: string[] = [];
    reportError(
      { stdout: () => undefined, stderr: (t) => err.push(t) },
      new CliError('CLI_KV', 'no entry "k\u001b[2J"'),
      { json: false, context: {} },
    );
    expect(err.join('')).toBe('saltbox: no entry "k\\x1b[2J"\n');
  });
});

describe('sender and signer names (#12.9)', () => {
  const hex = 'ab'.repeat(32);
  const id = { kid: `0120${hex}0a`, hex, username: null };

  it('never shows the name of a claimed owner whose chain does not verify', () => {
    for (const code of [
      'CLIENT_CHAIN_INVALID',
      'CLIENT_CHAIN_FORK',
      'CLIENT_WRONG_USER',
    ] as const) {
      const failure = ownerCheckFailure(
        new ClientError(code, 'the chain of mallory does not verify', { username: 'mallory' }),
      );
      expect(failure).toEqual({ status: 'unknown' });
      expect(describeKey({ ...id, ...failure })).toBe(`${hex} (unknown key)`);
    }
  });

  it('says why an owner could not be checked (offline, keystore locked)', () => {
    const failure = ownerCheckFailure(
      new ClientError('CLIENT_NETWORK', 'cannot reach the server at http://127.0.0.1:1'),
    );
    expect(describeKey({ ...id, ...failure })).toBe(
      `${hex} (owner not checked: cannot reach the server at http://127.0.0.1:1)`,
    );
    expect(describeKey({ ...id, status: 'unchecked' })).toBe(hex);
    expect(describeKey({ ...id, username: 'alice', status: 'revoked' })).toBe(
      'alice (revoked key)',
    );
  });
});

describe('group help', () => {
  it('names every subcommand of the command table (walkthrough: team leave and delete were missing)', async () => {
    const { COMMANDS, runCli } = await import('../src/cli.js');
    const subcommands = Object.keys(COMMANDS).filter((k) => k.includes(' '));
    const groups = [...new Set(subcommands.map((k) => k.split(' ')[0]!))].filter(
      (g) => !Object.hasOwn(COMMANDS, g), // `server` runs itself; `server invite` has its own help
    );
    expect(groups).toContain('team');
    for (const group of groups) {
      let out = '';
      const code = await runCli([group, '--help'], {
        stdout: (t) => {
          out += t;
        },
        stderr: () => undefined,
      });
      expect(code).toBe(0);
      for (const key of subcommands.filter((k) => k.startsWith(`${group} `)))
        expect(out, `${group} --help`).toContain(`saltbox ${key}`);
    }
  });
});

describe('an unexpected argument', () => {
  it('gets the -i hint only from a command that reads -i FILE (walkthrough: log verify extra)', async () => {
    const { runCli } = await import('../src/cli.js');
    const err = async (args: string[]) => {
      const c = capture();
      const code = await runCli(args, c.console);
      return { code, stderr: c.lines.stderr };
    };
    // Before: 'saltbox log verify extra' advised 'use -i FILE to read a file', a flag it lacks.
    expect(await err(['log', 'verify', 'extra'])).toEqual({
      code: EXIT.usage,
      stderr:
        'saltbox: unexpected argument "extra": log verify takes none\nsaltbox: hint: run \'saltbox log verify --help\'\n',
    });
    expect(await err(['encrypt', 'notes.txt'])).toEqual({
      code: EXIT.usage,
      stderr:
        'saltbox: unexpected argument "notes.txt"\nsaltbox: hint: use -i FILE to read a file\n',
    });
  });
});

/**
 * `saltbox kvstore api` and `saltbox kv` wiring, on the real built CLI: where requests come
 * from (-m, -i, standard input), where replies go (-o), exit status 0 on API errors, Keybase's
 * two command-line errors, and the logged-out home (Keybase's `not logged in` from the API;
 * `kv` says which home has no account, as the other account commands do). The KV
 * semantics themselves are tested in packages/client and end to end with keybase-bot.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, run, tempHome } from './helpers.js';

const home = tempHome();
beforeAll(ensureBuilt, 180_000);
afterAll(() => {
  home.cleanup();
});

const NOT_LOGGED_IN = '{"error":{"code":0,"message":"not logged in"}}\n';

describe('saltbox kvstore api', () => {
  it('reads a stream from standard input; API errors are replies with exit status 0', async () => {
    const r = await run(['kvstore', 'api'], {
      env: home.env,
      input: '{"id":1,"method":"nope"}\n{"method":"get","params":{"options":{}}}',
    });
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      '{"id":1,"error":{"code":0,"message":"invalid v1 method \\"nope\\""}}\n' +
        '{"id":1,"error":{"code":0,"message":"not logged in"}}\n',
    );
    expect(r.stderr).toBe('');
  });

  it('-m takes the requests as a string; -o writes the replies to a file', async () => {
    const out = join(home.dir, 'replies.json');
    const r = await run(['kvstore', 'api', '-m', '{"method":"list"}', '-o', out], {
      env: home.env,
    });
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(NOT_LOGGED_IN);
  });

  it('-i reads a file; a file that cannot be opened is a JSON error, still exit 0', async () => {
    const input = join(home.dir, 'requests.json');
    writeFileSync(input, '{"method":"del"}');
    const r = await run(['kvstore', 'api', '--infile', input], { env: home.env });
    expect(r.out).toBe(NOT_LOGGED_IN);
    const missing = join(home.dir, 'missing.json');
    const m = await run(['kvstore', 'api', '-i', missing], { env: home.env });
    expect(m.code).toBe(0);
    expect(m.out).toBe(
      `{"error":{"code":0,"message":${JSON.stringify(`open ${missing}: no such file or directory`)}}}\n`,
    );
  });

  it('truncated input gets "expected more JSON" on standard output', async () => {
    const r = await run(['kvstore', 'api', '-p'], { env: home.env, input: '{"method":' });
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      '{"error":{"code":0,"message":"invalid JSON: expected more JSON in input"}}\n',
    );
  });

  it('positional arguments and -m with -i are command-line errors (exit 2)', async () => {
    const a = await run(['kvstore', 'api', 'help'], { env: home.env });
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('saltbox: api takes no arguments');
    const b = await run(['kvstore', 'api', '-m', '{}', '-i', 'x'], { env: home.env });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('saltbox: specify -m or -i, but not both');
  });

  it('--help shows the examples of the interface', async () => {
    const r = await run(['kvstore', 'api', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('usage: saltbox kvstore api [-m JSON | -i FILE] [-o FILE] [-p]');
    expect(r.out).toContain(
      '{"method": "del", "params": {"options": {"team": "phoenix", "namespace": "pw-manager", "revision": 4, "entryKey": "geocities"}}}',
    );
  });
});

describe('saltbox kv', () => {
  it('says where no account is and how to get one, as every account command does; --json errors are JSON', async () => {
    // Before (walkthrough): "saltbox: not logged in", exit 1 and no hint, while team and device
    // commands said which home has no account and how to sign up or log in (exit 3).
    const r = await run(['kv', 'get', 'ns', 'key'], { env: home.env });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `saltbox: no account is set up in ${home.dir}\nsaltbox: hint: create an account with 'saltbox signup USER --server URL', or log in with 'saltbox login USER --paperkey'\n`,
    );
    const j = await run(['kv', 'list', '--json'], { env: home.env });
    expect(j.code).toBe(3);
    expect(JSON.parse(j.stderr)).toMatchObject({ error: { code: 'CLI_NOT_LOGGED_IN' } });
    const t = await run(['team', 'list'], { env: home.env });
    expect([t.code, t.stderr]).toEqual([r.code, r.stderr]);
  });

  it('checks its arguments before anything else', async () => {
    const r = await run(['kv', 'put', 'ns'], { env: home.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('expected NAMESPACE KEY VALUE');
    const v = await run(['kv', 'del', '--revision', '0', 'ns', 'k'], { env: home.env });
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('--revision must be a positive integer');
    const g = await run(['kv'], { env: home.env });
    expect(g.code).toBe(2);
    expect(g.stderr).toContain('usage: saltbox kv get');
  });

  it('kv put of an empty value is a usage error in its own terms (walkthrough)', async () => {
    // Before: "`entryValue` field required", the JSON API's text, after exit-1 network work.
    for (const input of [undefined, '']) {
      const r = await run(['kv', 'put', 'ns', 'k', ...(input === undefined ? [''] : [])], {
        env: home.env,
        ...(input === undefined ? {} : { input }),
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        "saltbox: a kv value cannot be empty\nsaltbox: hint: to remove the entry, use 'saltbox kv del NAMESPACE KEY'\n",
      );
    }
  });

  it('kv put refuses input that is not utf-8 rather than store it changed (walkthrough)', async () => {
    // Before: 0xff 0xfe were stored as two U+FFFD and kv put said it wrote the value.
    const file = join(home.dir, 'binary.bin');
    writeFileSync(file, Buffer.from([0xff, 0xfe, 0x00, 0x61]));
    const r = await run(['kv', 'put', 'ns', 'k', '-i', file, '--json'], { env: home.env });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr)).toEqual({
      error: {
        code: 'CLI_KV_VALUE_NOT_TEXT',
        message: `"${file}" is not utf-8 text; kv values are text and it would be stored changed`,
      },
    });
    const piped = await run(['kv', 'put', 'ns', 'k'], {
      env: home.env,
      input: Buffer.from([0x61, 0xc3]),
    });
    expect(piped.code).toBe(1);
    expect(piped.stderr).toContain('standard input is not utf-8 text');
    expect(piped.stderr).toContain("hint: store binary data encoded as text, e.g. 'base64 FILE");
    // Text (a BOM and a NUL included) passes this check: here it meets the missing account.
    writeFileSync(file, '\ufeffa\u0000b');
    const text = await run(['kv', 'put', 'ns', 'k', '-i', file], { env: home.env });
    expect(text.code).toBe(3);
    expect(text.stderr).toContain('saltbox: no account is set up in');
  });
});

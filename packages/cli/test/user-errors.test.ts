/**
 * A user's mistakes are coded errors with hints, never "this is a bug" (#12.8, #12.9), through
 * the built CLI against a real `saltbox server` process: a mistyped paper key, a damaged
 * keystore, absurd key-derivation parameters, `login` while logged in, duplicate device
 * names, `status` of a revoked device, `lock --json`.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasUnsafeDisplayCharacters } from '@saltbox/protocol';
import { accountHomes, errorCode, ok, runAs as sb, useAccountServer } from './helpers.js';

let url = '';
const { newHome, cleanup } = accountHomes();
useAccountServer((u) => {
  url = u;
}, cleanup);

const BUG = 'this is a bug';

describe('user errors are coded, with hints (#12.8)', { timeout: 600_000 }, () => {
  const hank = newHome();
  let phrase = '';

  it('a mistyped paper key is CLI_BAD_PAPER_KEY, never a bug', async () => {
    const up = ok(await sb(hank, ['signup', 'hank', '--server', url, '--device-name', 'hank-pc']));
    phrase = up.out.trim();
    const words = phrase.split(' ');
    expect(words).toHaveLength(13);
    const fresh = newHome();
    for (const typo of [
      words.slice(0, 12).join(' '), // a word left out
      [...words.slice(0, 12), 'notaword'].join(' '), // a misspelled word
    ]) {
      const text = await sb(fresh, ['login', 'hank', '--server', url], { SALTBOX_PAPERKEY: typo });
      expect(text.code).toBe(3);
      expect(text.stderr).not.toContain(BUG);
      expect(text.stderr).toContain('saltbox: not a paper key:');
      expect(text.stderr).toContain('hint: a paper key is the 13 words');
      // The words are never repeated back.
      expect(text.stderr).not.toContain(words[2]!);
      const j = await sb(fresh, ['login', 'hank', '--server', url, '--json'], {
        SALTBOX_PAPERKEY: typo,
      });
      expect(errorCode(j)).toBe('CLI_BAD_PAPER_KEY');
    }
  });

  it('login while logged in says so and asks for nothing', async () => {
    const again = await sb(hank, ['login', 'hank', '--server', url, '--json']);
    expect(errorCode(again)).toBe('CLI_ALREADY_LOGGED_IN');
    const text = await sb(hank, ['login', 'hank', '--server', url], { SALTBOX_PAPERKEY: '' });
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('saltbox: already logged in as hank with device "hank-pc"');
    expect(text.stderr).toContain("hint: run 'saltbox logout' first");
    expect(text.stderr).not.toContain('paper key');
  });

  it('a damaged keystore and absurd key-derivation parameters are KEYSTORE_CORRUPT', async () => {
    const meta = join(hank.dir, 'keystore', 'meta.rec');
    const good = readFileSync(meta, 'utf8');
    const parsed = JSON.parse(good) as { kdf: Record<string, unknown> };
    const copy = newHome();
    cpSync(hank.dir, copy.dir, { recursive: true });
    const copyMeta = join(copy.dir, 'keystore', 'meta.rec');
    for (const bad of [
      good.slice(0, 40),
      JSON.stringify({ ...parsed, kdf: { ...parsed.kdf, N: 3 } }),
      JSON.stringify({ ...parsed, kdf: { ...parsed.kdf, N: 2 ** 24, r: 64 } }),
    ]) {
      writeFileSync(copyMeta, bad);
      const r = await sb(copy, ['whoami']);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain(BUG);
      expect(r.stderr).toContain('hint: a file in the keystore directory is damaged');
      expect(errorCode(await sb(copy, ['whoami', '--json']))).toBe('KEYSTORE_CORRUPT');
    }
    ok(await sb(hank, ['whoami']));
  });
});

describe('accounts and the agent say what is true (#12.9)', { timeout: 600_000 }, () => {
  const ivy = newHome();
  const ivyPaper = newHome();

  it('duplicate and control-character device names are refused before anything is made', async () => {
    const up = ok(await sb(ivy, ['signup', 'ivy', '--server', url, '--device-name', 'ivy-pc']));
    const phrase = up.out.trim();
    const dup = await sb(ivy, ['device', 'add', '--name', 'IVY-PC', '--json']);
    expect(errorCode(dup)).toBe('CLIENT_DEVICE_NAME_TAKEN');
    const text = await sb(ivy, ['device', 'add', '--name', 'ivy-pc']);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('already has an active device named "ivy-pc"');
    expect(text.stderr).toContain('hint: choose another --name');
    const evil = await sb(ivy, ['device', 'add', '--name', 'x\u001b]0;owned\u0007', '--json']);
    expect(errorCode(evil)).toBe('CLIENT_INVALID_ARGUMENT');
    const list = ok(await sb(ivy, ['device', 'list', '--json'])).out;
    expect(JSON.parse(list).devices).toHaveLength(2); // ivy-pc and the paper key
    // Status of a device revoked from elsewhere: the paper key logs in and revokes ivy-pc.
    ok(await sb(ivyPaper, ['login', 'ivy', '--server', url], { SALTBOX_PAPERKEY: phrase }));
    ok(await sb(ivyPaper, ['device', 'revoke', 'ivy-pc']));
    const st = await sb(ivy, ['status', '--json']);
    expect(JSON.parse(ok(st).out).account.device).toMatchObject({
      name: 'ivy-pc',
      status: 'revoked',
    });
    const human = ok(await sb(ivy, ['status']));
    expect(human.out).toContain('ivy-pc (desktop), REVOKED');
    expect(human.stderr).toContain('this device was revoked; log in again with a paper key');
    expect(JSON.parse(ok(await sb(ivyPaper, ['status', '--json'])).out).account.device.status).toBe(
      'active',
    );
  });

  it('lock --json and unlock --json print one JSON object', async () => {
    ok(await sb(ivyPaper, ['agent', 'start']));
    try {
      const unlocked = ok(await sb(ivyPaper, ['unlock', '--json']));
      expect(JSON.parse(unlocked.out)).toMatchObject({ state: 'unlocked', created: false });
      const locked = ok(await sb(ivyPaper, ['lock', '--json']));
      expect(JSON.parse(locked.out)).toEqual({ state: 'locked' });
      expect(locked.stderr).toBe('');
    } finally {
      await sb(ivyPaper, ['agent', 'stop']);
    }
  });
});

describe('names are escaped on the terminal, exact in JSON (#12.16)', { timeout: 600_000 }, () => {
  const jay = newHome();

  it('kv list prints a hostile entry key escaped; --json keeps it exact', async () => {
    ok(await sb(jay, ['signup', 'jay', '--server', url, '--device-name', 'jay-pc']));
    const key = 'k\u001b]0;owned\u0007\u009b2J\u202etxt';
    ok(await sb(jay, ['kv', 'put', 'ns', key, 'v']));
    const listed = ok(await sb(jay, ['kv', 'list', 'ns']));
    expect(listed.out).toBe('k\\x1b]0;owned\\x07\\x9b2J\\u202etxt\t1\n');
    expect(hasUnsafeDisplayCharacters(listed.out.replace(/[\t\n]/g, ''))).toBe(false);
    const exact = JSON.parse(ok(await sb(jay, ['kv', 'list', 'ns', '--json'])).out) as {
      entryKeys: { entryKey: string }[];
    };
    expect(exact.entryKeys.map((k) => k.entryKey)).toEqual([key]);
    const ns = 'n\u001b[31ms';
    ok(await sb(jay, ['kv', 'put', ns, 'k', 'v']));
    expect(ok(await sb(jay, ['kv', 'list'])).out).toContain('n\\x1b[31ms\n');
  });
});

/**
 * The home layout and the agent's socket name per platform (issue #13 item 4, #12.23).
 *
 * This machine and CI run Linux only: the macOS and Windows rows are computed here with the
 * platform, environment, home directory and `path.win32` / `path.posix` injected — the
 * functions under test never consult `process.platform` when one is given. Running the agent
 * itself on a Windows named pipe cannot be tested here.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  agentSocketPath,
  homeHash,
  keystoreDirOf,
  maxSocketPathBytes,
  saltboxHome,
} from '../src/node/paths.js';
import type { HostInfo, SocketHostInfo } from '../src/node/paths.js';

const linux = { platform: 'linux', homedir: '/home/alice', path: path.posix } as const;
const mac = { platform: 'darwin', homedir: '/Users/alice', path: path.posix } as const;
const win = { platform: 'win32', homedir: 'C:\\Users\\alice', path: path.win32 } as const;

const homes: [string, Partial<HostInfo>, string][] = [
  [
    'linux: SALTBOX_HOME overrides all',
    { ...linux, env: { SALTBOX_HOME: '/s', XDG_CONFIG_HOME: '/c' } },
    '/s',
  ],
  [
    'linux: empty SALTBOX_HOME is unset',
    { ...linux, env: { SALTBOX_HOME: '' } },
    '/home/alice/.config/saltbox',
  ],
  ['linux: XDG_CONFIG_HOME', { ...linux, env: { XDG_CONFIG_HOME: '/cfg' } }, '/cfg/saltbox'],
  [
    'linux: empty XDG_CONFIG_HOME',
    { ...linux, env: { XDG_CONFIG_HOME: '' } },
    '/home/alice/.config/saltbox',
  ],
  [
    'linux: relative XDG_CONFIG_HOME is ignored',
    { ...linux, env: { XDG_CONFIG_HOME: 'cfg' } },
    '/home/alice/.config/saltbox',
  ],
  ['linux: no variables', { ...linux, env: {} }, '/home/alice/.config/saltbox'],
  [
    'freebsd: as linux',
    { ...linux, platform: 'freebsd', env: { XDG_CONFIG_HOME: '/x' } },
    '/x/saltbox',
  ],
  [
    'macOS: Application Support',
    { ...mac, env: {} },
    '/Users/alice/Library/Application Support/saltbox',
  ],
  [
    'macOS: XDG_CONFIG_HOME is not consulted',
    { ...mac, env: { XDG_CONFIG_HOME: '/cfg' } },
    '/Users/alice/Library/Application Support/saltbox',
  ],
  ['macOS: SALTBOX_HOME', { ...mac, env: { SALTBOX_HOME: '/s' } }, '/s'],
  ['windows: APPDATA', { ...win, env: { APPDATA: 'D:\\Roam' } }, 'D:\\Roam\\saltbox'],
  [
    'windows: empty APPDATA → USERPROFILE',
    { ...win, env: { APPDATA: '', USERPROFILE: 'E:\\Prof' } },
    'E:\\Prof\\AppData\\Roaming\\saltbox',
  ],
  [
    'windows: relative APPDATA is ignored',
    { ...win, env: { APPDATA: 'roam', USERPROFILE: 'E:\\Prof' } },
    'E:\\Prof\\AppData\\Roaming\\saltbox',
  ],
  [
    'windows: neither → home directory',
    { ...win, env: {} },
    'C:\\Users\\alice\\AppData\\Roaming\\saltbox',
  ],
  [
    'windows: SALTBOX_HOME',
    { ...win, env: { SALTBOX_HOME: 'F:\\sb', APPDATA: 'D:\\Roam' } },
    'F:\\sb',
  ],
];

describe('saltboxHome per platform', () => {
  it.each(homes)('%s', (_name, host, expected) => {
    expect(saltboxHome(host)).toBe(expected);
  });

  it('keystoreDirOf joins with the platform separator', () => {
    expect(keystoreDirOf('/h', path.posix)).toBe('/h/keystore');
    expect(keystoreDirOf('C:\\h', path.win32)).toBe('C:\\h\\keystore');
  });

  it('does not ask for the home directory when SALTBOX_HOME is set', () => {
    const host = {
      platform: 'linux' as const,
      env: { SALTBOX_HOME: '/s' },
      get homedir(): string {
        throw new Error('homedir consulted');
      },
    };
    expect(saltboxHome(host)).toBe('/s');
  });
});

describe('agentSocketPath per platform', () => {
  // A stable name: an agent started by one version must be found by the next, so the hash of a
  // home is pinned (SHA-256 of "/home/alice/.config/saltbox", first 16 hex digits).
  const H = '963e32dfe761513b';
  const home = '/home/alice/.config/saltbox';
  const privateDirs =
    (...dirs: string[]): SocketHostInfo['isPrivateDir'] =>
    (d) =>
      dirs.includes(d);
  const unix = { uid: 1000, username: 'alice', isPrivateDir: privateDirs('/run/user/1000') };

  const sockets: [string, string, Partial<SocketHostInfo>, string][] = [
    [
      'linux: private XDG_RUNTIME_DIR',
      home,
      { ...linux, ...unix, env: { XDG_RUNTIME_DIR: '/run/user/1000' } },
      `/run/user/1000/saltbox/agent-${H}.sock`,
    ],
    [
      'linux: no XDG_RUNTIME_DIR → /tmp/saltbox-<uid>',
      home,
      { ...linux, ...unix, env: {} },
      `/tmp/saltbox-1000/agent-${H}.sock`,
    ],
    [
      'linux: empty XDG_RUNTIME_DIR',
      home,
      { ...linux, ...unix, env: { XDG_RUNTIME_DIR: '' } },
      `/tmp/saltbox-1000/agent-${H}.sock`,
    ],
    [
      'linux: relative XDG_RUNTIME_DIR',
      home,
      { ...linux, ...unix, env: { XDG_RUNTIME_DIR: 'run' } },
      `/tmp/saltbox-1000/agent-${H}.sock`,
    ],
    [
      'linux: XDG_RUNTIME_DIR not private (another user, 0755, missing)',
      home,
      { ...linux, ...unix, env: { XDG_RUNTIME_DIR: '/run/user/0' } },
      `/tmp/saltbox-1000/agent-${H}.sock`,
    ],
    [
      'linux: XDG_RUNTIME_DIR so long the socket would not fit',
      home,
      {
        ...linux,
        ...unix,
        isPrivateDir: () => true,
        env: { XDG_RUNTIME_DIR: `/${'r'.repeat(90)}` },
      },
      `/tmp/saltbox-1000/agent-${H}.sock`,
    ],
    [
      'linux: injected temp directory',
      home,
      { ...linux, ...unix, tmpdir: '/var/tmp', env: {} },
      `/var/tmp/saltbox-1000/agent-${H}.sock`,
    ],
    [
      'macOS: /tmp/saltbox-<uid>, not $TMPDIR',
      home,
      { ...mac, ...unix, uid: 501, env: { TMPDIR: '/var/folders/xy/T/' } },
      `/tmp/saltbox-501/agent-${H}.sock`,
    ],
    [
      'windows: a named pipe per user and home',
      'C:\\Users\\alice\\AppData\\Roaming\\saltbox',
      { ...win, username: 'alice', env: {} },
      '\\\\.\\pipe\\saltbox-agent-alice-',
    ],
    [
      'windows: a user name with spaces',
      'C:\\x',
      { ...win, username: 'Jane Doe', env: {} },
      '\\\\.\\pipe\\saltbox-agent-Jane_Doe-',
    ],
  ];

  it.each(sockets)('%s', (_name, h, host, expected) => {
    const p = agentSocketPath(h, host);
    if (expected.endsWith('-')) {
      expect(p).toBe(`${expected}${homeHash(h, host)}`);
      expect(p).toMatch(/-[0-9a-f]{16}$/);
    } else {
      expect(p).toBe(expected);
    }
    expect(Buffer.byteLength(p)).toBeLessThanOrEqual(maxSocketPathBytes(host.platform));
  });

  it('defaults the home to saltboxHome of the same host', () => {
    const host = { ...linux, ...unix, env: {} };
    expect(agentSocketPath(undefined, host)).toBe(agentSocketPath(home, host));
  });

  it('stays short for a home of any length, on every platform (#12.23)', () => {
    const long = `/${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(60)}`;
    expect(long.length).toBeGreaterThan(150);
    for (const host of [
      { ...linux, ...unix, env: {} },
      { ...linux, ...unix, env: { XDG_RUNTIME_DIR: '/run/user/1000' } },
      { ...mac, ...unix, env: {} },
      { ...win, username: 'alice', env: {} },
    ]) {
      const p = agentSocketPath(long, host);
      expect(p).not.toContain('aaaa');
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(maxSocketPathBytes(host.platform));
    }
  });

  it('names each home apart, and one home the same however it is spelled', () => {
    expect(homeHash('/a', linux)).not.toBe(homeHash('/b', linux));
    expect(homeHash('/a/b/../c/', linux)).toBe(homeHash('/a/c', linux));
    // Windows file names are case-insensitive: one home, one pipe.
    expect(homeHash('C:\\Users\\A\\sb', win)).toBe(homeHash('c:\\users\\a\\SB', win));
    expect(homeHash('/Users/A/sb', mac)).not.toBe(homeHash('/users/a/sb', mac));
    expect(homeHash(home, linux)).toBe(H);
  });

  it('knows the socket path limit of each platform', () => {
    expect(maxSocketPathBytes('linux')).toBe(107);
    expect(maxSocketPathBytes('darwin')).toBe(103);
    expect(maxSocketPathBytes('freebsd')).toBe(103);
  });
});

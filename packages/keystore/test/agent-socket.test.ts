/**
 * Where the agent listens and what it refuses (#12.23): a home of any length gets a short
 * socket path; a path too long for a Unix socket, an unsafe socket directory and a failed bind
 * are coded errors naming the path, never a silently unreachable agent.
 *
 * The socket directory is computed with an injected temp directory so these tests never touch
 * the shared `/tmp/saltbox-<uid>` (the CLI test uses the real default). Windows named pipes
 * cannot be exercised on this Linux machine; their naming is tested in paths.test.ts.
 */
import { chmod, chown, lstat, mkdir, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore, openKeystore } from '@saltbox/keystore';
import {
  agentSocketPath,
  connectAgent,
  maxSocketPathBytes,
  startAgent,
} from '@saltbox/keystore/node';
import { expectCode } from './conformance.js';
import { tempDir } from './helpers.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
async function dir(): Promise<string> {
  const d = await tempDir();
  cleanup.push(() => d.remove());
  return d.path;
}
const memoryKeystore = () => openKeystore({ store: memoryStore() });
const uid = process.getuid?.() ?? 0;
/** A uid that is not ours, for a directory "another user" made (needs root to chown). */
const OTHER_UID = uid === 0 ? 65534 : uid;

describe('the agent socket of a home', () => {
  it('a home of 150+ characters: the agent listens on a short path a client reaches', async () => {
    const d = await dir();
    const home = join(d, 'h'.repeat(60), 'o'.repeat(60), 'm'.repeat(40));
    expect(home.length).toBeGreaterThan(150);
    const socketPath = agentSocketPath(home, { env: { SALTBOX_HOME: home }, tmpdir: d });
    expect(socketPath.startsWith(join(d, `saltbox-${uid}`, 'agent-'))).toBe(true);
    expect(Buffer.byteLength(socketPath)).toBeLessThanOrEqual(maxSocketPathBytes());
    const agent = await startAgent({ socketPath, keystore: await memoryKeystore() });
    cleanup.push(() => agent.stop());
    expect((await stat(join(d, `saltbox-${uid}`))).mode & 0o777).toBe(0o700);
    const c = await connectAgent(socketPath);
    expect((await c.agentStatus()).socketPath).toBe(socketPath);
    await c.close();
  });

  it('refuses a socket path longer than the system allows, naming it', async () => {
    const d = await dir();
    const long = join(d, 'x'.repeat(120), 'agent.sock');
    const started = await expectCode(
      startAgent({ socketPath: long, keystore: await memoryKeystore() }),
      'KEYSTORE_AGENT_SOCKET',
    );
    expect(started.message).toContain(long);
    expect(started.details.path).toBe(long);
    const connected = await expectCode(connectAgent(long), 'KEYSTORE_AGENT_SOCKET');
    expect(connected.message).toContain(long);
  });

  it('a bind that fails is a coded error naming the path', async () => {
    const d = await dir();
    const socketPath = join(d, 'taken');
    await mkdir(join(socketPath, 'inside'), { recursive: true }); // a directory sits there
    const e = await expectCode(
      startAgent({ socketPath, keystore: await memoryKeystore() }),
      'KEYSTORE_AGENT_SOCKET',
    );
    expect(e.message).toContain(socketPath);
  });
});

describe('a hostile pre-existing socket directory is refused, never repaired', () => {
  async function planted(): Promise<{ d: string; socketDir: string; socketPath: string }> {
    const d = await dir();
    const socketPath = agentSocketPath('/some/home', { env: {}, tmpdir: d });
    return { d, socketDir: join(d, `saltbox-${uid}`), socketPath };
  }

  it.skipIf(uid !== 0)(
    'owned by another user (chown needs root: skipped when not run as root)',
    async () => {
      const { socketDir, socketPath } = await planted();
      await mkdir(socketDir, { mode: 0o700 });
      await chown(socketDir, OTHER_UID, OTHER_UID);
      const e = await expectCode(
        startAgent({ socketPath, keystore: await memoryKeystore() }),
        'KEYSTORE_REFUSED',
      );
      expect(e.message).toBe(`the agent socket directory ${socketDir} belongs to another user`);
    },
  );

  it('open to other users (0777): refused, and its mode left as found', async () => {
    const { socketDir, socketPath } = await planted();
    await mkdir(socketDir);
    await chmod(socketDir, 0o777);
    const e = await expectCode(
      startAgent({ socketPath, keystore: await memoryKeystore() }),
      'KEYSTORE_REFUSED',
    );
    expect(e.message).toContain(`${socketDir} is open to other users (mode 0777)`);
    expect((await stat(socketDir)).mode & 0o777).toBe(0o777);
    await expect(lstat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a symlink (to a private directory of ours, even): refused', async () => {
    const { d, socketDir, socketPath } = await planted();
    await mkdir(join(d, 'elsewhere'), { mode: 0o700 });
    await symlink(join(d, 'elsewhere'), socketDir);
    const e = await expectCode(
      startAgent({ socketPath, keystore: await memoryKeystore() }),
      'KEYSTORE_REFUSED',
    );
    expect(e.message).toContain('is not a directory');
  });

  it('a client refuses a socket in a directory others can write, or of another user', async () => {
    const { socketDir, socketPath } = await planted();
    const agent = await startAgent({ socketPath, keystore: await memoryKeystore() });
    cleanup.push(() => agent.stop());
    await chmod(socketDir, 0o777);
    const e = await expectCode(connectAgent(socketPath), 'KEYSTORE_REFUSED');
    expect(e.message).toContain(socketPath);
    await chmod(socketDir, 0o700);
    await (await connectAgent(socketPath)).close();
    if (uid === 0) {
      await chown(socketPath, OTHER_UID, OTHER_UID);
      const other = await expectCode(connectAgent(socketPath), 'KEYSTORE_REFUSED');
      expect(other.message).toBe(`the agent socket ${socketPath} belongs to another user`);
    }
  });
});

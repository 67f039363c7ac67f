/**
 * The server as a real process (test/fixtures/server-process.ts, real socket, real pipes):
 * what happens to it when the world around it misbehaves.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('./fixtures/server-process.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'saltbox-process-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** Starts the fixture and resolves with the process and its URL once it listens. */
function startProcess(
  dataDir: string,
): Promise<{ child: Child; url: string; stderr: () => string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', SCRIPT, dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]!, stderr: () => err });
    });
    child.once('exit', (code) => {
      reject(new Error(`server process exited (${String(code)}): ${err.slice(-2000)}`));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('server process', () => {
  it('keeps answering after the reader of its standard output went away (#12.10)', async () => {
    const { child, url, stderr } = await startProcess(join(dir, 'epipe'));
    let exit: string | null = null;
    child.once('exit', (code, signal) => {
      exit = `${String(code)}/${String(signal)}`;
    });
    try {
      // The first lines arrive, then the reader closes its end, as `| head -c 300` does.
      const first = await new Promise<string>((resolve) => {
        child.stdout.once('data', (d: Buffer) => {
          resolve(d.toString());
        });
        void fetch(`${url}/healthz`);
      });
      expect(first).toContain('"msg":"listening"');
      child.stdout.destroy();
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${url}/healthz`);
        expect(res.status).toBe(200);
        await sleep(20);
      }
      await sleep(200);
      expect(exit).toBeNull();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(stderr()).toContain('logs are no longer written: EPIPE');
    } finally {
      child.kill('SIGTERM');
    }
  });
});

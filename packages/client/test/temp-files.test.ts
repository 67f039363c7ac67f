/**
 * Leftovers of atomic writes (issue 12, defect 17): a writer process killed with SIGKILL
 * between creating its temporary file and renaming it leaves the file behind; the next
 * `writeAtomic` into that directory removes it, and leaves alone the temporary file of a writer
 * that still runs and one written by another host.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeStaleTempFiles, tempPathFor, writeAtomic } from '../src/index.js';

// A writer: reads the temporary path on stdin, creates it, writes 1 MiB, says so, then waits
// (mid-write, as far as the file system can tell) until it is killed.
const WRITER = `
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  if (!buf.endsWith('\\n')) return;
  const fs = require('node:fs');
  const fd = fs.openSync(buf.trim(), 'wx', 0o600);
  fs.writeSync(fd, Buffer.alloc(1024 * 1024, 0x61));
  process.stdout.write('ready\\n');
  setInterval(() => undefined, 1000);
});
`;

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Starts a writer of `target`'s temporary file; resolves with its path once written. */
async function startWriter(target: string): Promise<{ child: ChildProcess; temp: string }> {
  const child = spawn(process.execPath, ['-e', WRITER], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const temp = tempPathFor(target, child.pid);
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', () => {
      reject(new Error('writer exited early'));
    });
  });
  child.stdin.write(`${temp}\n`);
  await ready;
  return { child, temp };
}

describe('temporary files of killed writers', () => {
  it('writeAtomic removes the file a SIGKILLed writer left, and only that', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'saltbox-temp-'));
    dirs.push(dir);
    const target = join(dir, 'provider-keys.json');

    const killed = await startWriter(target);
    const exited = new Promise((r) => killed.child.once('exit', r));
    killed.child.kill('SIGKILL');
    await exited;
    const live = await startWriter(target);
    // The same shape from another machine (a shared directory): its process cannot be checked.
    const foreign = join(
      dir,
      basename(killed.temp).replace(/saltbox-[0-9a-f]{8}-/, 'saltbox-00000000-'),
    );
    await writeFile(foreign, 'x');
    expect((await readdir(dir)).sort()).toEqual(
      [basename(killed.temp), basename(live.temp), basename(foreign)].sort(),
    );

    await writeAtomic(target, '{"ok":true}');

    expect(await readFile(target, 'utf8')).toBe('{"ok":true}');
    expect((await readdir(dir)).sort()).toEqual(
      [basename(target), basename(live.temp), basename(foreign)].sort(),
    );
  });

  it('names carry the pid, stay hidden and short; a swept directory is not read again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'saltbox-temp-'));
    dirs.push(dir);
    const long = join(dir, 'x'.repeat(250));
    const temp = basename(tempPathFor(long));
    expect(temp).toMatch(
      new RegExp(`^\\.x{64}\\.saltbox-[0-9a-f]{8}-${process.pid}-[0-9a-f]{12}\\.tmp$`),
    );
    expect(Buffer.byteLength(temp)).toBeLessThan(255);
    expect(await removeStaleTempFiles(dir)).toEqual([]);
    // A leftover appearing later is found by the next process, not by this one again.
    await writeFile(join(dir, basename(tempPathFor(long, 999_999_999))), 'x');
    expect(await removeStaleTempFiles(dir)).toEqual([]);
  });
});

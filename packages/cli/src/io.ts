/**
 * Input and output for the streaming commands: files read in 1 MiB pieces, standard input and
 * output, and output files that appear only when complete.
 *
 * Output files are written to a temporary file in the target's directory and renamed into place
 * only after the whole pipeline succeeded, so a failed decryption or verification never leaves
 * partial plaintext behind. Ctrl-C removes the temporary file; a process killed outright (SIGKILL,
 * a crash) cannot, so the temporary name carries its process id and the next run writing to that
 * directory removes the files of writers that no longer run (`removeStaleTempFiles`, issue 12
 * defect 17).
 *
 * @packageDocumentation
 */
import { constants as fsConstants, fstatSync, read, unlinkSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
// The subpath, not the package: plain encryption must not load the client (~0.3 s of start-up).
import { removeStaleTempFiles, tempPathFor } from '@saltbox/keystore/files';
import { CliError, ioError } from './errors.js';

/** Read size for files: the Saltpack chunk size, so each read feeds one packet. */
export const PIECE = 1024 * 1024;
/** Output is gathered into writes of about this size (one `writev` per packet or so). */
const WRITE_BATCH = 1024 * 1024;

/** An input: a byte stream, its size when known, and a name for messages. */
export interface Input {
  readonly readable: ReadableStream<Uint8Array>;
  /** The total size in bytes, for regular files; `undefined` for pipes and terminals. */
  readonly size: number | undefined;
  /** `standard input` or the path. */
  readonly name: string;
}

/** Called with the number of bytes each time a piece of input is read (progress). */
export type ByteCounter = (n: number) => void;

/**
 * A ReadableStream over an open file: 1 MiB reads into fresh buffers (consumers, such as a
 * worker engine, may take ownership of them), two pieces read ahead so disk and crypto overlap.
 */
function fileStream(
  fh: FileHandle | number,
  name: string,
  count: ByteCounter | undefined,
  closeWhenDone: boolean,
): ReadableStream<Uint8Array> {
  const readPiece = async (buffer: Buffer): Promise<number> => {
    if (typeof fh === 'number') {
      return new Promise<number>((resolve, reject) => {
        read(fh, buffer, 0, buffer.length, null, (err, n) => {
          if (err) reject(err);
          else resolve(n);
        });
      });
    }
    return (await fh.read(buffer, 0, buffer.length, null)).bytesRead;
  };
  const close = async (): Promise<void> => {
    if (closeWhenDone && typeof fh !== 'number') await fh.close().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const buffer = Buffer.allocUnsafeSlow(PIECE);
        let n: number;
        try {
          n = await readPiece(buffer);
        } catch (e) {
          await close();
          throw ioError(`cannot read ${name}`, e);
        }
        if (n === 0) {
          await close();
          controller.close();
          return;
        }
        count?.(n);
        controller.enqueue(new Uint8Array(buffer.buffer, buffer.byteOffset, n));
      },
      cancel: close,
    },
    { highWaterMark: 2 },
  );
}

/** Standard input as a stream: read like a file when it is one, else through Node's stream. */
function stdinStream(count: ByteCounter | undefined): Input {
  let isFile = false;
  let size = 0;
  try {
    const stat = fstatSync(0);
    isFile = stat.isFile();
    size = stat.size;
  } catch {
    // no standard input at all (closed descriptor): read it as a stream and let that fail
  }
  if (isFile) {
    return {
      readable: fileStream(0, 'standard input', count, false),
      size,
      name: 'standard input',
    };
  }
  const reader = (Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>).getReader();
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw ioError('cannot read standard input', e);
      }
      if (r.done) {
        controller.close();
        return;
      }
      count?.(r.value.length);
      controller.enqueue(r.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { readable, size: undefined, name: 'standard input' };
}

/**
 * Opens the input: the file at `path`, or standard input when `path` is absent or `-`.
 *
 * @throws CliError `CLI_IO` when the file cannot be opened.
 */
export async function openInput(path: string | undefined, count?: ByteCounter): Promise<Input> {
  if (path === undefined || path === '-') return stdinStream(count);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw ioError(`cannot open input file ${path}`, e);
  }
  const stat = await fh.stat();
  if (stat.isDirectory()) {
    await fh.close();
    throw new CliError('CLI_IO', `cannot read input file ${path}: is a directory`);
  }
  return {
    readable: fileStream(fh, path, count, true),
    size: stat.isFile() ? stat.size : undefined,
    name: path,
  };
}

/**
 * Reads a whole small file (a detached signature, a symmetric key), refusing anything larger
 * than `limit` so a wrong argument cannot exhaust memory.
 *
 * @throws CliError `CLI_IO` when the file cannot be read or is too large.
 */
export async function readSmallFile(
  path: string,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw ioError(`cannot open ${what} ${path}`, e);
  }
  try {
    const stat = await fh.stat();
    if (stat.size > limit) {
      throw new CliError('CLI_IO', `${what} ${path} is too large (${stat.size} bytes)`);
    }
    return new Uint8Array(await fh.readFile());
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw ioError(`cannot read ${what} ${path}`, e);
  } finally {
    await fh.close();
  }
}

/** An output: a sink plus what to do once the pipeline succeeded or failed. */
export interface Output {
  readonly writable: WritableStream<Uint8Array>;
  /** `standard output` or the path. */
  readonly name: string;
  readonly isStdout: boolean;
  /** Bytes handed to the operating system so far. */
  readonly bytesWritten: number;
  /** Makes the output visible (renames the temporary file). Call after success only. */
  commit(): Promise<void>;
  /** Removes every trace of a failed output (the temporary file). Never throws. */
  discard(): Promise<void>;
}

// Temporary files that exist right now, removed if the process is interrupted (Ctrl-C).
const liveTemps = new Set<string>();

/**
 * Removes the temporary output files of this process; called from signal handlers, so it is
 * synchronous.
 */
export function removeTempFilesSync(): void {
  for (const path of liveTemps) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
  liveTemps.clear();
}

/** Writes all of `parts`, retrying after short writes. */
async function writeAll(fh: FileHandle, parts: Uint8Array[]): Promise<void> {
  let rest = parts;
  while (rest.length > 0) {
    const total = rest.reduce((n, p) => n + p.length, 0);
    const { bytesWritten } = await fh.writev(rest);
    if (bytesWritten === total) return;
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const p of rest) {
      if (skip >= p.length) skip -= p.length;
      else {
        next.push(skip > 0 ? p.subarray(skip) : p);
        skip = 0;
      }
    }
    rest = next;
  }
}

/**
 * An output file written through a temporary file in the same directory (`secret` outputs are
 * created 0600, others 0666 minus the umask) and renamed over `path` by `commit`.
 */
async function fileOutput(path: string, secret: boolean): Promise<Output> {
  const dir = dirname(path);
  // Plaintext a killed earlier run left beside its output is removed before writing again.
  await removeStaleTempFiles(dir);
  const temp = tempPathFor(path);
  let fh: FileHandle | undefined;
  try {
    fh = await open(
      temp,
      fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL,
      secret ? 0o600 : 0o666,
    );
  } catch (e) {
    throw ioError(`cannot create output file in ${dir}`, e);
  }
  liveTemps.add(temp);
  const handle: FileHandle = fh;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let written = 0;
  let closed = false;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const parts = pending;
    pending = [];
    pendingBytes = 0;
    try {
      await writeAll(handle, parts);
    } catch (e) {
      throw ioError(`cannot write output file ${path}`, e);
    }
    written += parts.reduce((n, p) => n + p.length, 0);
  };
  const closeHandle = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      await handle.close().catch(() => undefined);
    }
  };
  const writable = new WritableStream<Uint8Array>(
    {
      async write(chunk) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= WRITE_BATCH) await flush();
      },
      async close() {
        await flush();
        // No fsync: the rename guarantees that a *failed* run leaves no partial output, which is
        // what matters here; crash durability of bulk output is the file system's job (as for
        // age and gpg). Syncing 256 MiB costs about 0.7 s on this machine's disk. Key files,
        // which must survive a crash, are fsynced (keys.ts).
        await closeHandle();
      },
      async abort() {
        await closeHandle();
      },
    },
    // Enough queued parts for one sealed packet, so the producer never waits on tiny writes.
    { highWaterMark: 8 },
  );
  return {
    writable,
    name: path,
    isStdout: false,
    get bytesWritten() {
      return written;
    },
    async commit() {
      await closeHandle();
      try {
        await rename(temp, path);
      } catch (e) {
        await unlink(temp).catch(() => undefined);
        liveTemps.delete(temp);
        throw ioError(`cannot write output file ${path}`, e);
      }
      liveTemps.delete(temp);
    },
    async discard() {
      await closeHandle();
      await unlink(temp).catch(() => undefined);
      liveTemps.delete(temp);
    },
  };
}

/** Standard output as a sink, honouring back-pressure; EPIPE and friends become `CLI_IO`. */
function stdoutOutput(): Output {
  const out = process.stdout;
  let written = 0;
  let failure: unknown;
  // Write errors (EPIPE when the reader went away) are also emitted as events; without a
  // listener Node would crash with an unhandled 'error'.
  out.on('error', (e) => {
    failure ??= e;
  });
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (failure !== undefined) throw ioError('cannot write to standard output', failure);
      return new Promise<void>((resolve, reject) => {
        out.write(chunk, (err) => {
          if (err) reject(ioError('cannot write to standard output', err));
          else {
            written += chunk.length;
            resolve();
          }
        });
      });
    },
  });
  return {
    writable,
    name: 'standard output',
    isStdout: true,
    get bytesWritten() {
      return written;
    },
    commit: () => Promise.resolve(),
    discard: () => Promise.resolve(),
  };
}

/**
 * Opens the output: a file at `path` (complete or absent, see {@link Output}), or standard
 * output when `path` is absent or `-`.
 *
 * @param secret - the output is plaintext: create the file 0600
 * @throws CliError `CLI_IO` when the temporary file cannot be created.
 */
export function openOutput(path: string | undefined, secret: boolean): Promise<Output> {
  if (path === undefined || path === '-') return Promise.resolve(stdoutOutput());
  return fileOutput(path, secret);
}

/**
 * Runs `source` through `stages` into `output`; commits on success and discards on failure.
 *
 * @throws the first error of any stage, unchanged.
 */
export async function runPipeline(
  source: ReadableStream<Uint8Array>,
  stages: readonly ReadableWritablePair<Uint8Array, Uint8Array>[],
  output: Output,
): Promise<void> {
  try {
    let readable = source;
    for (const stage of stages) readable = readable.pipeThrough(stage);
    await readable.pipeTo(output.writable);
    await output.commit();
  } catch (e) {
    await output.discard();
    throw e;
  }
}

/**
 * Reads from `readable` until `enough(head)` holds or the input ends, and returns what was read
 * plus a stream that replays it before the rest. Lets commands look at a message's first bytes
 * (armor or binary, which mode) without buffering more than a piece or two.
 *
 * @param limit - stop looking after this many bytes even if not `enough`
 */
export async function peek(
  readable: ReadableStream<Uint8Array>,
  enough: (head: Uint8Array) => boolean,
  limit: number,
): Promise<{ head: Uint8Array; readable: ReadableStream<Uint8Array> }> {
  const reader = readable.getReader();
  const chunks: Uint8Array[] = [];
  let head = new Uint8Array(0);
  let done = false;
  while (!enough(head) && head.length < limit) {
    const r = await reader.read();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(r.value);
    const next = new Uint8Array(head.length + r.value.length);
    next.set(head);
    next.set(r.value, head.length);
    head = next;
  }
  const replay = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const first = chunks.shift();
      if (first !== undefined) {
        controller.enqueue(first);
        return;
      }
      if (done) {
        controller.close();
        return;
      }
      const r = await reader.read();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { head, readable: replay };
}

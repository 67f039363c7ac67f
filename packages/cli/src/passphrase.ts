/**
 * Where keystore passphrases come from, in this order: `--passphrase-file FILE`, the
 * `SALTBOX_PASSPHRASE` environment variable, else a prompt on the terminal without echo
 * (`/dev/tty`, so standard input stays free for data; standard input in raw mode when there is
 * no `/dev/tty` but standard input is a terminal).
 *
 * A passphrase is handed to the keystore and nowhere else: it is never printed, logged, put in
 * an error message or passed to a child process.
 *
 * @packageDocumentation
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { isatty, ReadStream } from 'node:tty';
import { CliError } from './errors.js';
import { readSmallFile } from './io.js';

/** The environment variable read for bots and CI. */
export const PASSPHRASE_ENV = 'SALTBOX_PASSPHRASE';

/** A passphrase file is a line of text; anything much longer is a wrong argument. */
const PASSPHRASE_FILE_LIMIT = 64 * 1024;
/** The keystore accepts at most this many characters. */
const MAX_PASSPHRASE = 4096;

/** Options of {@link readPassphrase}. */
export interface PassphraseRequest {
  /** `--passphrase-file`, when given. */
  file?: string | undefined;
  /** Ask twice on a terminal (a new keystore); ignored for the file and the environment. */
  confirm?: boolean;
  /** What the prompt asks for, e.g. `passphrase for the keystore in /x`. */
  prompt: string;
  /** The environment (injectable for tests). */
  env?: NodeJS.ProcessEnv;
}

/** Strips one trailing line break (files written by `echo` or an editor end with one). */
function stripNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

function checked(passphrase: string, where: string): string {
  if (passphrase.length === 0) throw new CliError('CLI_BAD_PASSPHRASE', `${where} is empty`);
  if (passphrase.length > MAX_PASSPHRASE) {
    throw new CliError(
      'CLI_BAD_PASSPHRASE',
      `${where} is longer than ${MAX_PASSPHRASE} characters`,
    );
  }
  return passphrase;
}

/**
 * Gets a passphrase from the first available source.
 *
 * @throws CliError `CLI_NO_PASSPHRASE` (no file, no variable, no terminal),
 *   `CLI_BAD_PASSPHRASE` (empty, too long, or the confirmation differs), `CLI_CANCELLED`
 *   (Ctrl-C or Ctrl-D at the prompt), `CLI_IO` (the file cannot be read).
 */
export async function readPassphrase(request: PassphraseRequest): Promise<string> {
  if (request.file !== undefined) {
    const bytes = await readSmallFile(request.file, PASSPHRASE_FILE_LIMIT, 'passphrase file');
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    return checked(stripNewline(text), `passphrase file ${request.file}`);
  }
  const fromEnv = (request.env ?? process.env)[PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return checked(fromEnv, PASSPHRASE_ENV);
  const terminal = openTerminal();
  if (!terminal) {
    throw new CliError('CLI_NO_PASSPHRASE', `a passphrase is needed to open the keystore`);
  }
  try {
    const first = checked(await terminal.ask(`saltbox: ${request.prompt}: `), 'the passphrase');
    if (request.confirm === true) {
      const second = await terminal.ask('saltbox: confirm the passphrase: ');
      if (second !== first) throw new CliError('CLI_BAD_PASSPHRASE', 'the passphrases differ');
    }
    return first;
  } finally {
    terminal.close();
  }
}

/** What {@link askHidden} needs of a terminal input stream (`tty.ReadStream`). */
interface RawInput {
  setRawMode(mode: boolean): unknown;
  setEncoding(encoding: 'utf8'): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  off(event: 'data', listener: (chunk: string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** A terminal to ask on: reads a line without echo. */
interface Terminal {
  ask(prompt: string): Promise<string>;
  close(): void;
}

/**
 * Opens the controlling terminal (`/dev/tty`), else standard input when it is a terminal, else
 * returns undefined (a bot, CI, a daemon: no one to ask).
 */
function openTerminal(): Terminal | undefined {
  if (process.platform !== 'win32') {
    let fd: number | undefined;
    try {
      fd = openSync('/dev/tty', 'r+');
    } catch {
      fd = undefined; // no controlling terminal
    }
    if (fd !== undefined) {
      if (!isatty(fd)) {
        closeSync(fd);
      } else {
        const ttyFd = fd;
        const input = new ReadStream(ttyFd);
        return {
          ask: (prompt) =>
            askHidden(
              input,
              (text) => {
                writeSync(ttyFd, text);
              },
              prompt,
            ),
          close: () => {
            input.setRawMode(false);
            input.destroy(); // closes the descriptor
          },
        };
      }
    }
  }
  if (process.stdin.isTTY) {
    const input = process.stdin as unknown as RawInput;
    return {
      ask: (prompt) =>
        askHidden(
          input,
          (text) => {
            process.stderr.write(text);
          },
          prompt,
        ),
      close: () => {
        input.setRawMode(false);
        input.pause();
      },
    };
  }
  return undefined;
}

/**
 * Writes `prompt` and reads one line in raw mode (nothing echoes). Backspace and Ctrl-U edit;
 * Enter ends; Ctrl-C, and Ctrl-D on an empty line, cancel. Escape sequences (arrow keys) are
 * ignored.
 */
function askHidden(
  input: RawInput,
  write: (text: string) => void,
  prompt: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chars: string[] = [];
    let escape = false;
    const finish = (error?: CliError): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      write('\n');
      if (error) reject(error);
      else resolve(chars.join(''));
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (escape) {
          // CSI sequences end with a letter or '~'.
          if (/[A-Za-z~]/.test(ch)) escape = false;
          continue;
        }
        switch (ch) {
          case '\r':
          case '\n':
            finish();
            return;
          case '\u0003':
            finish(new CliError('CLI_CANCELLED', 'cancelled'));
            return;
          case '\u0004':
            if (chars.length === 0) {
              finish(new CliError('CLI_CANCELLED', 'cancelled'));
              return;
            }
            break;
          case '\u007f':
          case '\b':
            chars.pop();
            break;
          case '\u0015':
            chars.length = 0;
            break;
          case '\u001b':
            escape = true;
            break;
          default:
            if (ch >= ' ') chars.push(ch);
        }
      }
    };
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
    write(prompt);
  });
}

/**
 * Asks for a secret line on the terminal without echo (a paper key at `saltbox login`).
 *
 * @returns undefined when there is no terminal to ask on.
 * @throws CliError `CLI_CANCELLED` (Ctrl-C or Ctrl-D at the prompt).
 */
export async function askSecretLine(prompt: string): Promise<string | undefined> {
  const terminal = openTerminal();
  if (!terminal) return undefined;
  try {
    return await terminal.ask(`saltbox: ${prompt}: `);
  } finally {
    terminal.close();
  }
}

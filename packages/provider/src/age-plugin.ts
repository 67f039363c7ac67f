/**
 * The age plugin protocol (C2SP age-plugin, spec keystore-and-secrets-providers §3.8) for
 * `age-plugin-saltbox`: `age -r age1saltbox1…` wraps a file key to saltbox users and teams,
 * `age -d -i <identity file>` unwraps it through the keystore.
 *
 * - A recipient is Bech32 with prefix `age1saltbox`; its data is the UTF-8 recipient label
 *   (`alice` or `team:acme`), so the plugin resolves the current keys at wrap time through the
 *   verified directory.
 * - An identity is Bech32 `AGE-PLUGIN-SALTBOX-…`; its data is only the username it was made
 *   for (no secret: unwrapping happens in the keystore).
 * - A stanza is `-> saltbox` with a Saltpack message of the 16-byte file key as its body (one
 *   stanza per file, addressed to every saltbox recipient's keys).
 *
 * The I/O is age's stanza framing over stdin/stdout: `-> <command> <args…>` then the body in
 * unpadded base64, 64 columns, ended by a shorter (possibly empty) line.
 *
 * @packageDocumentation
 */
import { bech32Decode, bech32Encode } from './bech32.js';
import { ProviderError } from './errors.js';
import { parseRecipients, recipientLabel } from './recipients.js';
import type { Recipient } from './recipients.js';

/** The Bech32 prefix of saltbox age recipients. */
export const AGE_RECIPIENT_HRP = 'age1saltbox';
/** The Bech32 prefix of saltbox age identities (written upper-case). */
export const AGE_IDENTITY_HRP = 'age-plugin-saltbox-';
/** The stanza type the plugin writes and reads. */
export const AGE_STANZA_TYPE = 'saltbox';

/**
 * The age recipient of a saltbox user or team (`alice`, `team:acme`).
 *
 * @throws ProviderError `InvalidArgument` for a malformed name.
 */
export function ageRecipient(label: string): string {
  const [r] = parseRecipients(label);
  if (!r || label.includes(','))
    throw new ProviderError('InvalidArgument', 'PROVIDER_BAD_RECIPIENT', 'one recipient only');
  return bech32Encode(AGE_RECIPIENT_HRP, new TextEncoder().encode(recipientLabel(r)));
}

/**
 * The recipient an `age1saltbox1…` string names.
 *
 * @throws ProviderError `InvalidArgument` for another prefix or a malformed name.
 */
export function parseAgeRecipient(text: string): Recipient {
  const { hrp, data } = bech32Decode(text);
  if (hrp !== AGE_RECIPIENT_HRP)
    throw new ProviderError('InvalidArgument', 'PROVIDER_BAD_RECIPIENT', 'not a saltbox recipient');
  const label = new TextDecoder('utf-8', { fatal: true }).decode(data);
  const rs = parseRecipients(label);
  if (rs.length !== 1 || label.includes(','))
    throw new ProviderError('InvalidArgument', 'PROVIDER_BAD_RECIPIENT', 'one recipient only');
  return rs[0]!;
}

/** The identity line for `username` (`AGE-PLUGIN-SALTBOX-1…`). */
export function ageIdentity(username: string): string {
  return bech32Encode(AGE_IDENTITY_HRP, new TextEncoder().encode(username)).toUpperCase();
}

/** Whether `text` is a saltbox age identity. */
export function isAgeIdentity(text: string): boolean {
  try {
    return bech32Decode(text).hrp === AGE_IDENTITY_HRP;
  } catch {
    return false;
  }
}

/** One stanza of the plugin protocol. */
export interface Stanza {
  command: string;
  args: string[];
  body: Uint8Array;
}

const B64_LINE = 64;

/** Encodes a stanza in age's framing. */
export function encodeStanza(s: Stanza): string {
  const b64 = Buffer.from(s.body).toString('base64').replace(/=+$/, '');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += B64_LINE) lines.push(b64.slice(i, i + B64_LINE));
  if (lines.length === 0 || lines[lines.length - 1]!.length === B64_LINE) lines.push('');
  return `-> ${[s.command, ...s.args].join(' ')}\n${lines.join('\n')}\n`;
}

function protocolError(message: string): ProviderError {
  return new ProviderError('Internal', 'PROVIDER_AGE_PROTOCOL', message);
}

/** Reads stanzas from a byte or text stream (stdin). */
export class StanzaReader {
  readonly #source: AsyncIterator<Uint8Array | string>;
  #buffer = '';
  #ended = false;

  constructor(source: AsyncIterable<Uint8Array | string>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  async #line(): Promise<string> {
    for (;;) {
      const nl = this.#buffer.indexOf('\n');
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        return line;
      }
      if (this.#ended) throw protocolError('the client closed the connection mid-stanza');
      const next = await this.#source.next();
      if (next.done === true) this.#ended = true;
      else
        this.#buffer +=
          typeof next.value === 'string' ? next.value : Buffer.from(next.value).toString('utf8');
    }
  }

  /**
   * The next stanza.
   *
   * @throws ProviderError `PROVIDER_AGE_PROTOCOL` on a malformed stanza or end of input.
   */
  async next(): Promise<Stanza> {
    const head = await this.#line();
    if (!head.startsWith('-> ')) throw protocolError('expected a stanza');
    const [command, ...args] = head.slice(3).split(' ');
    if (!command) throw protocolError('a stanza without a command');
    let b64 = '';
    for (;;) {
      const line = await this.#line();
      if (line.length > B64_LINE || !/^[A-Za-z0-9+/]*$/.test(line))
        throw protocolError('a malformed stanza body');
      b64 += line;
      if (line.length < B64_LINE) break;
    }
    return { command, args, body: new Uint8Array(Buffer.from(b64, 'base64')) };
  }
}

/** What the plugin does with keys: saltbox keepers behind these two functions. */
export interface AgePluginHandlers {
  /** Wraps one file key to the recipients; the body of the `saltbox` stanza. */
  wrap(fileKey: Uint8Array, recipients: readonly Recipient[]): Promise<Uint8Array>;
  /**
   * Unwraps a stanza body through the keystore.
   *
   * @throws ProviderError `PermissionDenied` when no held key opens it (not ours: skipped).
   */
  unwrap(body: Uint8Array): Promise<Uint8Array>;
}

/** The plugin's I/O. */
export interface AgePluginIo {
  input: AsyncIterable<Uint8Array | string>;
  write(text: string): void;
}

const enc = (s: string) => new TextEncoder().encode(s);

function safeMessage(e: unknown): string {
  return e instanceof ProviderError ? e.message : 'internal error';
}

async function send(io: AgePluginIo, reader: StanzaReader, s: Stanza): Promise<Stanza> {
  io.write(encodeStanza(s));
  return reader.next(); // ok / fail / unsupported
}

/** Phase 1: everything the client sends up to `done`. */
async function readPhase1(reader: StanzaReader): Promise<Stanza[]> {
  const out: Stanza[] = [];
  for (;;) {
    const s = await reader.next();
    if (s.command === 'done') return out;
    out.push(s);
  }
}

async function recipientV1(io: AgePluginIo, h: AgePluginHandlers): Promise<void> {
  const reader = new StanzaReader(io.input);
  const phase1 = await readPhase1(reader);
  const recipients: string[] = [];
  const identities: string[] = [];
  const fileKeys: Uint8Array[] = [];
  for (const s of phase1) {
    if (s.command === 'add-recipient' && s.args[0] !== undefined) recipients.push(s.args[0]);
    else if (s.command === 'add-identity' && s.args[0] !== undefined) identities.push(s.args[0]);
    else if (s.command === 'wrap-file-key') fileKeys.push(s.body);
    // extension-labels and grease: nothing to do.
  }

  const errors: Stanza[] = [];
  const parsed: Recipient[] = [];
  recipients.forEach((r, i) => {
    try {
      parsed.push(parseAgeRecipient(r));
    } catch (e) {
      errors.push({ command: 'error', args: ['recipient', String(i)], body: enc(safeMessage(e)) });
    }
  });
  identities.forEach((_, i) => {
    errors.push({
      command: 'error',
      args: ['identity', String(i)],
      body: enc('saltbox identities cannot be used as recipients: use age1saltbox1… recipients'),
    });
  });
  const stanzas: Stanza[] = [];
  if (errors.length === 0 && parsed.length > 0) {
    try {
      for (const [i, key] of fileKeys.entries())
        stanzas.push({
          command: 'recipient-stanza',
          args: [String(i), AGE_STANZA_TYPE],
          body: await h.wrap(key, parsed),
        });
    } catch (e) {
      errors.push({ command: 'error', args: ['internal'], body: enc(safeMessage(e)) });
    }
  }
  // No stanza may be sent once an error occurred (C2SP age-plugin).
  for (const s of errors.length > 0 ? errors : stanzas) await send(io, reader, s);
  io.write(encodeStanza({ command: 'done', args: [], body: new Uint8Array(0) }));
}

async function identityV1(io: AgePluginIo, h: AgePluginHandlers): Promise<void> {
  const reader = new StanzaReader(io.input);
  const phase1 = await readPhase1(reader);
  const errors: Stanza[] = [];
  const files = new Map<number, Stanza[]>();
  let identityIndex = 0;
  for (const s of phase1) {
    if (s.command === 'add-identity') {
      if (!isAgeIdentity(s.args[0] ?? ''))
        errors.push({
          command: 'error',
          args: ['identity', String(identityIndex)],
          body: enc('not a saltbox identity'),
        });
      identityIndex++;
    } else if (s.command === 'recipient-stanza') {
      const file = Number(s.args[0]);
      if (!Number.isSafeInteger(file) || file < 0) continue;
      const list = files.get(file) ?? [];
      list.push({ command: s.args[1] ?? '', args: s.args.slice(2), body: s.body });
      files.set(file, list);
    }
  }
  if (errors.length > 0) {
    for (const e of errors) await send(io, reader, e);
    io.write(encodeStanza({ command: 'done', args: [], body: new Uint8Array(0) }));
    return;
  }
  for (const [file, stanzas] of [...files.entries()].sort((a, b) => a[0] - b[0])) {
    for (const [index, s] of stanzas.entries()) {
      if (s.command !== AGE_STANZA_TYPE) continue;
      try {
        const fileKey = await h.unwrap(s.body);
        await send(io, reader, { command: 'file-key', args: [String(file)], body: fileKey });
        break;
      } catch (e) {
        const code = e instanceof ProviderError ? e.code : 'Internal';
        if (code === 'PermissionDenied') continue; // addressed to someone else
        await send(
          io,
          reader,
          code === 'InvalidArgument'
            ? {
                command: 'error',
                args: ['stanza', String(file), String(index)],
                body: enc(safeMessage(e)),
              }
            : { command: 'error', args: ['internal'], body: enc(safeMessage(e)) },
        );
        break;
      }
    }
  }
  io.write(encodeStanza({ command: 'done', args: [], body: new Uint8Array(0) }));
}

/**
 * Runs one plugin session (`--age-plugin=recipient-v1` or `identity-v1`).
 *
 * @throws ProviderError `InvalidArgument` for another state machine; `PROVIDER_AGE_PROTOCOL`
 *   when the client breaks the framing.
 */
export async function runAgePlugin(
  stateMachine: string,
  io: AgePluginIo,
  handlers: AgePluginHandlers,
): Promise<void> {
  if (stateMachine === 'recipient-v1') return recipientV1(io, handlers);
  if (stateMachine === 'identity-v1') return identityV1(io, handlers);
  throw new ProviderError(
    'InvalidArgument',
    'PROVIDER_AGE_PROTOCOL',
    `unknown state machine "${stateMachine}"`,
  );
}

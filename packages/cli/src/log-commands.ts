/**
 * `saltbox log root|verify|audit|compare`: anyone's view of the server's signed log (DESIGN.md
 * "The signed log"; issue 14 item 5). Every route used is public, so these commands need no
 * account and no keystore; they use `--server`, else the home's configured server.
 *
 * - `log verify` walks this home's pin (`log-pins.json`) forward to the server's latest root:
 *   the same {@link LogClient} check every load makes (pinned key, consistency proof from the
 *   pinned root), then pins the new root; on first contact it pins the key and root it sees.
 * - `log root` prints the latest signed root (seqno, `hash_meta`, map root, ctime, root key), to
 *   read out over another channel or to save for `log compare`.
 * - `log audit` is a monitor: it replays the whole log from root 1 through `/log/changes`,
 *   recomputes every map root and history root, checks every root's signature against one key
 *   and every `prev` link, that no chain's tail ever moves backwards, and that the server's
 *   consistency proofs agree with the replay. The first root that fails is named in a coded
 *   error.
 * - `log compare FILE` checks that this server shows the same root, at the same seqno, as the
 *   one another user saved with `log root --json`: a difference is a split view.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import {
  ApiClient,
  FileLogPinStore,
  isClientError,
  LogClient,
  readAccountConfig,
} from '@saltbox/client';
import {
  logLeafData,
  MemoryLog,
  MemoryMap,
  toHex,
  verifyLogRoot,
  verifyLogRootsConsistent,
} from '@saltbox/identity';
import type { ChainTail, KidHex, SignedLogRoot, VerifiedLogRoot } from '@saltbox/identity';
import { LOG_MAX_CHANGES_PAGE, signedLogRootSchema } from '@saltbox/protocol';
import type { SignedLogRootWire } from '@saltbox/protocol';
import { defaultBackend } from '@saltbox/saltpack';
import type { CryptoBackend } from '@saltbox/saltpack';
import type { CommandContext, Flags } from './context.js';
import { CliError, ioError, usage } from './errors.js';
import { home, serverUrl } from './session.js';

const str = (f: Flags, name: string): string | undefined => {
  const v = f[name];
  return typeof v === 'string' ? v : undefined;
};
const bool = (f: Flags, name: string): boolean => f[name] === true;

/** An Ed25519 KID: type 0x20, 32 key bytes, 0x0a (what a root key is). */
const ROOT_KID = /^0120[0-9a-f]{64}0a$/;

function toSigned(w: SignedLogRootWire): SignedLogRoot {
  return { payloadJson: w.payloadJson, kid: w.kid, sig: w.sig, leafPath: w.leafPath };
}

/** The server's error code behind a failed public request (`LOG_ROOT_NOT_FOUND`, …). */
function serverCode(e: unknown): string | null {
  if (!(e instanceof Error) || e.name !== 'ClientError') return null;
  const code = (e as { details?: { serverCode?: unknown } }).details?.serverCode;
  return typeof code === 'string' ? code : null;
}

/** A public (unsigned) client for the server of `--server`, else the home's. */
async function publicApi(
  flags: Flags,
): Promise<{ api: ApiClient; backend: CryptoBackend; server: string }> {
  const server = serverUrl(str(flags, 'server'), await readAccountConfig(home()));
  const backend = await defaultBackend();
  return { api: new ApiClient({ baseUrl: server, backend }), backend, server };
}

/** The latest root, or a given one; null when the log (or that root) does not exist. */
async function fetchRoot(api: ApiClient, seqno?: number): Promise<SignedLogRootWire | null> {
  try {
    return await api.call('logRoot', {
      query: seqno === undefined ? {} : { seqno: String(seqno) },
    });
  } catch (e) {
    if (serverCode(e) === 'LOG_ROOT_NOT_FOUND') return null;
    throw e;
  }
}

/** What `log root --json` prints (and `log compare` reads back). */
export interface LogRootView {
  server: string;
  seqno: number;
  hash_meta: string;
  map: string;
  log: string;
  prev: string | null;
  ctime: number;
  kid: string;
  /** The root exactly as served: with it, a second party can check the signature. */
  signed: SignedLogRoot;
}

function view(server: string, r: VerifiedLogRoot): LogRootView {
  return {
    server,
    seqno: r.seqno,
    hash_meta: r.hashMeta,
    map: r.map,
    log: r.log,
    prev: r.prev,
    ctime: r.ctime,
    kid: r.signed.kid,
    signed: r.signed,
  };
}

/**
 * Verifies a served root under `kid` (its own when absent: the signature, the payload's shape
 * and its history leaf still have to hold).
 *
 * @throws CliError `CLI_LOG_ROOT_INVALID`.
 */
function verifiedRoot(
  backend: CryptoBackend,
  wire: SignedLogRootWire,
  kid?: KidHex,
): VerifiedLogRoot {
  try {
    const r = verifyLogRoot(backend, toSigned(wire), kid ?? wire.kid);
    if (r.seqno !== wire.seqno) throw new Error('seqno');
    return r;
  } catch (e) {
    throw new CliError(
      'CLI_LOG_ROOT_INVALID',
      `the server's log root ${wire.seqno} does not verify${e instanceof Error && e.name === 'IdentityError' ? `: ${e.message}` : ''}`,
      { cause: e },
    );
  }
}

function positiveInt(flags: Flags, name: string): number | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(v)) throw usage(`--${name} must be a positive integer`);
  return Number(v);
}

/**
 * `saltbox log root [--json] [--server URL]`.
 *
 * @throws CliError `CLI_LOG_EMPTY` (no root yet, or no root N), `CLI_LOG_ROOT_INVALID`,
 *   `CLI_USAGE`; ClientError `CLIENT_NETWORK`, `CLIENT_BAD_RESPONSE`.
 */
export async function logRootCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const { api, backend, server } = await publicApi(flags);
  const seqno = positiveInt(flags, 'seqno');
  const wire = await fetchRoot(api, seqno);
  if (wire === null)
    throw seqno === undefined
      ? new CliError('CLI_LOG_EMPTY', `the log of ${server} is empty`, {
          hint: 'the log starts with the first sign-up on this server',
        })
      : new CliError('CLI_LOG_EMPTY', `the log of ${server} has no root ${seqno}`, {
          hint: 'run it without --seqno for the latest root',
        });
  const root = verifiedRoot(backend, wire);
  const v = view(server, root);
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify(v)}\n`);
    return;
  }
  ctx.console.stdout(
    [
      `server:    ${server}`,
      `seqno:     ${v.seqno}`,
      `hash_meta: ${v.hash_meta}`,
      `map:       ${v.map}`,
      `ctime:     ${v.ctime} (${new Date(v.ctime * 1000).toISOString()})`,
      `root key:  ${v.kid}`,
      '',
    ].join('\n'),
  );
}

/** What `log verify --json` prints. */
export interface LogVerifyResult {
  server: string;
  /** The root this home had pinned before, null on first contact. */
  from: number | null;
  /** The server's latest root, now pinned. */
  to: number;
  hash_meta: string;
  /** The root key (pinned). */
  kid: string;
  /** True when nothing was pinned for this server before: the key and root were taken as seen. */
  firstContact: boolean;
}

/**
 * `saltbox log verify [--server URL] [--json]`: checks the server's latest root against this
 * home's pin through {@link LogClient} (the pin file is the one every load of this home
 * updates), and pins it.
 *
 * @throws CliError `CLI_LOG_EMPTY` (no root yet, nothing pinned); ClientError
 *   `CLIENT_LOG_KEY_MISMATCH`, `CLIENT_LOG_ROLLBACK`, `CLIENT_LOG_INCONSISTENT`,
 *   `CLIENT_LOG_INVALID`, `CLIENT_STORE`, and the transport codes.
 */
export async function logVerifyCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const { api, backend, server } = await publicApi(flags);
  const log = new LogClient({ api, backend, pins: new FileLogPinStore(home()), freshMs: 0 });
  const before = await log.pinned();
  let root: VerifiedLogRoot;
  try {
    root = await log.latest({ fresh: true });
  } catch (e) {
    // With a pin, an empty log is the client's rollback error; without one there is nothing yet.
    if (isClientError(e, 'CLIENT_HTTP') && e.details.serverCode === 'LOG_ROOT_NOT_FOUND')
      throw new CliError('CLI_LOG_EMPTY', `the log of ${server} is empty`, {
        hint: 'the log starts with the first sign-up on this server; nothing was pinned',
      });
    throw e;
  }
  const r: LogVerifyResult = {
    server,
    from: before?.root.seqno ?? null,
    to: root.seqno,
    hash_meta: root.hashMeta,
    kid: root.signed.kid,
    firstContact: before === undefined,
  };
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify(r)}\n`);
    return;
  }
  const lines =
    r.from === null
      ? [
          `no log root was pinned for ${server} in this home: pinned root ${r.to} and its root key on first contact`,
          "compare them with 'saltbox log root' run elsewhere (or the key the server printed at start)",
        ]
      : r.from === r.to
        ? [
            `log of ${server} verified: root ${r.from} → ${r.to}, the pinned root is still the latest`,
          ]
        : [
            `log of ${server} verified: root ${r.from} → ${r.to}, consistent with the pinned root; root ${r.to} pinned`,
          ];
  ctx.console.stdout([...lines, `hash_meta: ${r.hash_meta}`, `root key:  ${r.kid}`, ''].join('\n'));
}

/** What an audit found. */
export interface LogAuditResult {
  server: string;
  /** The key every root was checked against. */
  kid: string;
  /** First and last root audited. */
  from: number;
  to: number;
  roots: number;
  /** Chain-tail updates replayed. */
  changes: number;
  /** Distinct chains (users and teams) seen. */
  chains: number;
  /** Whether map and history roots were recomputed (only when the replay starts at root 1). */
  recomputed: boolean;
  /** Server consistency proofs checked against the replay. */
  consistencyProofs: number;
  /** The `hash_meta` of the last root audited. */
  hashMeta: string | null;
  seconds: number;
}

function auditFailure(seqno: number, why: string, cause?: unknown): CliError {
  return new CliError(
    'CLI_LOG_AUDIT_FAILED',
    `the log fails its audit at root ${seqno}: ${why}`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Replays the log from root `from` (1 by default) to the latest root at the start, checking
 * what {@link logAuditCommand} documents. Exported for the benchmark.
 *
 * @throws CliError `CLI_LOG_AUDIT_FAILED` naming the first root that fails; ClientError on
 *   transport failures.
 */
export async function auditLog(
  api: ApiClient,
  backend: CryptoBackend,
  options: { server: string; from?: number; kid?: KidHex },
): Promise<LogAuditResult> {
  const started = performance.now();
  const from = options.from ?? 1;
  const recompute = from === 1;
  const latest = await fetchRoot(api);
  const result: LogAuditResult = {
    server: options.server,
    kid: options.kid ?? '',
    from,
    to: latest?.seqno ?? 0,
    roots: 0,
    changes: 0,
    chains: 0,
    recomputed: recompute,
    consistencyProofs: 0,
    hashMeta: null,
    seconds: 0,
  };
  if (latest === null || latest.seqno < from) {
    result.to = Math.max(0, from - 1);
    result.seconds = (performance.now() - started) / 1000;
    return result;
  }
  const end = latest.seqno;
  let kid = options.kid;
  const map = new MemoryMap(backend);
  const log = new MemoryLog(backend);
  const tails = new Map<string, number>();
  /** Roots kept for the consistency checks: `from`, every power of two, `end − 1`, `end`. */
  const kept = new Map<number, VerifiedLogRoot>();
  const keep = (s: number) => s === from || s >= end - 1 || (s & (s - 1)) === 0;
  let prev: string | null = null;
  if (from > 1) {
    // The root before the range: its hash is what root `from` must name as prev.
    const before = await fetchRoot(api, from - 1);
    if (before === null) throw auditFailure(from - 1, 'the server does not serve it');
    kid ??= before.kid;
    prev = verifiedOrFail(backend, before, kid).hashMeta;
  }
  let next = from;
  while (next <= end) {
    const page = await api.call('logChanges', {
      query: { from: String(next), limit: String(LOG_MAX_CHANGES_PAGE) },
    });
    if (page.roots.length === 0) throw auditFailure(next, 'the server does not serve it');
    for (const set of page.roots) {
      // Checked first: a page that jumps past `end` must fail, not be refetched forever.
      if (set.seqno !== next)
        throw auditFailure(next, `the server skips it (the next root served is ${set.seqno})`);
      if (set.seqno > end) break;
      kid ??= set.root.kid;
      const root = verifiedOrFail(backend, set.root, kid);
      if (root.seqno !== set.seqno)
        throw auditFailure(next, `the server serves root ${root.seqno} in its place`);
      if (root.prev !== prev)
        throw auditFailure(next, 'its prev is not the hash of the root before it');
      if (set.changes.length === 0) throw auditFailure(next, 'it records no change');
      const updates: [string, ChainTail][] = [];
      for (const c of set.changes) {
        const tail: ChainTail = { seqno: c.tail[0], linkId: c.tail[1], eldestKid: c.tail[2] };
        const before = tails.get(c.id);
        // Chains only grow: a tail that does not move forward rewrites history.
        if (before !== undefined && tail.seqno <= before)
          throw auditFailure(
            next,
            `chain ${c.id} moves from seqno ${before} back to ${tail.seqno}`,
          );
        tails.set(c.id, tail.seqno);
        updates.push([c.id, tail]);
      }
      if (recompute) {
        if (toHex(map.update(updates)) !== root.map)
          throw auditFailure(next, 'its map root is not the one its changes produce');
        if (toHex(log.append(logLeafData(root))) !== root.log)
          throw auditFailure(next, 'its history root is not the one the roots before it produce');
      }
      if (keep(root.seqno)) kept.set(root.seqno, root);
      result.changes += updates.length;
      result.roots++;
      prev = root.hashMeta;
      next++;
    }
  }
  const last = kept.get(end)!;
  if (verifiedOrFail(backend, latest, kid!).hashMeta !== last.hashMeta)
    throw auditFailure(end, 'the server serves two different roots at this seqno');
  // The server's consistency proofs must agree with the history just replayed (a client that
  // pinned any of these roots is shown the same log).
  for (const [s, older] of kept) {
    if (s === end) continue;
    const c = await api.call('logConsistency', {
      query: { from: String(s), to: String(end) },
    });
    try {
      verifyLogRootsConsistent(backend, older, last, c.proof);
    } catch (e) {
      throw auditFailure(s, `the server's consistency proof to root ${end} does not verify`, e);
    }
    result.consistencyProofs++;
  }
  result.kid = kid!;
  result.chains = tails.size;
  result.hashMeta = last.hashMeta;
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

function verifiedOrFail(
  backend: CryptoBackend,
  wire: SignedLogRootWire,
  kid: KidHex,
): VerifiedLogRoot {
  try {
    return verifyLogRoot(backend, toSigned(wire), kid);
  } catch (e) {
    const why = e instanceof Error && e.name === 'IdentityError' ? e.message : 'it does not verify';
    throw auditFailure(wire.seqno, why, e);
  }
}

/**
 * `saltbox log audit [--server URL] [--from N] [--key KID] [--json]`.
 *
 * @throws CliError `CLI_LOG_AUDIT_FAILED`, `CLI_USAGE`; ClientError on transport failures.
 */
export async function logAuditCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const from = positiveInt(flags, 'from');
  const key = str(flags, 'key');
  if (key !== undefined && !ROOT_KID.test(key))
    throw usage('--key must be an Ed25519 KID (0120…0a, 70 hex digits)');
  const { api, backend, server } = await publicApi(flags);
  const r = await auditLog(api, backend, {
    server,
    ...(from === undefined ? {} : { from }),
    ...(key === undefined ? {} : { kid: key }),
  });
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify(r)}\n`);
    return;
  }
  if (r.roots === 0) {
    ctx.console.stdout(`the log of ${server} has no roots from ${r.from} on; nothing to audit\n`);
    return;
  }
  ctx.console.stdout(
    [
      `audited roots ${r.from}–${r.to} of ${server} in ${r.seconds.toFixed(2)} s: the log is consistent`,
      `roots:        ${r.roots}, every one signed by ${r.kid}`,
      `changes:      ${r.changes} chain tails replayed (${r.chains} chains), none moving back`,
      r.recomputed
        ? 'recomputed:   every map root and history root'
        : `recomputed:   nothing (the map needs the whole log: run it without --from to recompute)`,
      `consistency:  ${r.consistencyProofs} server proofs to root ${r.to} agree`,
      `latest root:  ${r.to} hash_meta ${r.hashMeta ?? ''}`,
      '',
    ].join('\n'),
  );
}

/** Reads a `log root --json` file: at least seqno and hash_meta. */
function parseRootFile(
  text: string,
  file: string,
): {
  seqno: number;
  hashMeta: string;
  kid: string | undefined;
  signed: SignedLogRoot | undefined;
} {
  const bad = (why: string) =>
    new CliError('CLI_LOG_BAD_ROOT_FILE', `${file} is not a saved log root: ${why}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad('it is not json');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('it is not an object');
  const o = v as Record<string, unknown>;
  if (typeof o.seqno !== 'number' || !Number.isSafeInteger(o.seqno) || o.seqno < 1)
    throw bad('seqno is missing or not a positive integer');
  if (typeof o.hash_meta !== 'string' || !/^[0-9a-f]{64}$/.test(o.hash_meta))
    throw bad('hash_meta is missing or not 64 hex digits');
  if (o.kid !== undefined && (typeof o.kid !== 'string' || !ROOT_KID.test(o.kid)))
    throw bad('kid is not an Ed25519 KID');
  const signed = signedLogRootSchema.omit({ seqno: true }).safeParse(o.signed);
  return {
    seqno: o.seqno,
    hashMeta: o.hash_meta,
    kid: o.kid,
    signed: signed.success ? { ...signed.data, kid: signed.data.kid } : undefined,
  };
}

/**
 * `saltbox log compare FILE [--server URL] [--json]`.
 *
 * @throws CliError `CLI_LOG_SPLIT_VIEW`, `CLI_LOG_BAD_ROOT_FILE`, `CLI_LOG_ROOT_INVALID`,
 *   `CLI_IO`, `CLI_USAGE`; ClientError on transport failures.
 */
export async function logCompareCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const p = flags._positionals;
  const list = Array.isArray(p) ? p.filter((x): x is string => typeof x === 'string') : [];
  if (list.length === 0) throw usage("FILE is missing (another user's 'saltbox log root --json')");
  if (list.length > 1) throw usage(`unexpected argument "${list[1]!.slice(0, 20)}"`);
  const file = list[0]!;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw ioError(`cannot read "${file}"`, e);
  }
  const theirs = parseRootFile(text, file);
  const { api, backend, server } = await publicApi(flags);
  const wire = await fetchRoot(api, theirs.seqno);
  const split = (why: string) =>
    new CliError('CLI_LOG_SPLIT_VIEW', `split view at log root ${theirs.seqno}: ${why}`);
  if (wire === null)
    throw split(`${server} has no root ${theirs.seqno}, yet the owner of ${file} was shown one`);
  const ours = verifiedRoot(backend, wire);
  if (theirs.kid !== undefined && theirs.kid !== ours.signed.kid)
    throw split(`the root in ${file} is signed by another root key than ${server}'s`);
  if (theirs.hashMeta !== ours.hashMeta) {
    // A second root under the same key and seqno, validly signed, proves the server forked the
    // log; an unsigned or badly signed one only says the two views differ.
    let proof = 'the root in the file carries no valid signature of that key';
    if (theirs.signed !== undefined)
      try {
        const other = verifyLogRoot(backend, theirs.signed, ours.signed.kid);
        if (other.seqno === ours.seqno && other.hashMeta === theirs.hashMeta)
          proof = 'both roots are signed by the server key: proof that it forked the log';
      } catch {
        // proof stays "no valid signature"
      }
    throw split(
      `${server} serves hash_meta ${ours.hashMeta}, the owner of ${file} was shown ${theirs.hashMeta} (${proof})`,
    );
  }
  if (bool(flags, 'json')) {
    ctx.console.stdout(
      `${JSON.stringify({ server, seqno: ours.seqno, hash_meta: ours.hashMeta, kid: ours.signed.kid, match: true })}\n`,
    );
    return;
  }
  ctx.console.stdout(
    `log root ${ours.seqno} matches: ${server} serves hash_meta ${ours.hashMeta}, signed by ${ours.signed.kid}\n`,
  );
}

/**
 * The commands. Each reads its parsed flags, gets keys from a {@link KeySource}, and wires an
 * input, the library's Web Streams and an output together; nothing here does cryptography.
 *
 * @packageDocumentation
 */
import {
  createArmorStream,
  createDecryptStream,
  createEncryptStream,
  createSigncryptOpenStream,
  createSigncryptStream,
  createSignStream,
  createSymmetricResolver,
  createVerifyStream,
  dearmor,
  MODE,
  signDetached,
  verifyDetached,
} from '@saltbox/saltpack';
import { toHex } from '@saltbox/saltpack/encoding';
import type {
  ArmorType,
  BoxKeyring,
  MessageKeyInfo,
  SigncryptInfo,
  SignerInfo,
  SigningKeyring,
} from '@saltbox/saltpack';
import { headerMode, requireMode, sniff } from './detect.js';
import type { Sniffed } from './detect.js';
import { bulkCrypto } from './engine.js';
import { CliError, usage, withIncompleteOutput } from './errors.js';
import { openInput, openOutput, readSmallFile, runBulk, runPipeline } from './io.js';
import type { Input, Output } from './io.js';
import {
  defaultKeyFile,
  generateKeyFile,
  parseSymmetricKeyFile,
  writeSecretFileAtomic,
} from './keys.js';
import type { KeySource, SymmetricKey } from './keys.js';
import { createProgress } from './progress.js';
import type { Progress } from './progress.js';
import { parseRecipient } from './recipients.js';
import { describeKey, identifyKey, identityJson, signerKeyring } from './senders.js';
import type { IdentifyContext, KeyIdentity } from './senders.js';
import { info } from './ui.js';
import type { Console } from './ui.js';
import type { CommandContext, Flags } from './context.js';

const str = (f: Flags, name: string): string | undefined => {
  const v = f[name];
  return typeof v === 'string' ? v : undefined;
};
const bool = (f: Flags, name: string): boolean => f[name] === true;
const list = (f: Flags, name: string): string[] => {
  const v = f[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
};

const KIB = 1024;

/** Detached signatures and symmetric key files are small; refuse anything absurd. */
const SMALL_FILE_LIMIT = 1024 * KIB;

function printJson(console: Console, where: 'stdout' | 'stderr', value: unknown): void {
  console[where](`${JSON.stringify(value)}\n`);
}

/** Opens the input with a progress bar attached (drawn only on a terminal, for big inputs). */
async function openInputWithProgress(
  path: string | undefined,
): Promise<{ input: Input; progress: Progress }> {
  // The size is known only once the input is open; nothing is read before the bar exists.
  let count = (_n: number): void => undefined;
  const input = await openInput(path, (n) => {
    count(n);
  });
  const progress = createProgress(input.size);
  count = (n) => {
    progress.add(n);
  };
  return { input, progress };
}

/**
 * Refuses to write binary ciphertext or signatures to a terminal, where it is garbage and may
 * confuse the terminal (as age does).
 */
function refuseBinaryToTerminal(outputPath: string | undefined, armored: boolean): void {
  if (armored) return;
  if ((outputPath === undefined || outputPath === '-') && process.stdout.isTTY) {
    throw usage('refusing to write binary output to the terminal', 'use --armor, or -o FILE');
  }
}

/**
 * Runs a pipeline and turns a failure after partial standard output into the "incomplete
 * output" error; files are never partial (see `io.ts`).
 */
async function stream(
  source: ReadableStream<Uint8Array>,
  stages: readonly ReadableWritablePair<Uint8Array, Uint8Array>[],
  output: Output,
  progress: Progress,
): Promise<void> {
  try {
    await runPipeline(source, stages, output);
  } catch (e) {
    if (output.isStdout && output.bytesWritten > 0) throw withIncompleteOutput(e);
    throw e;
  } finally {
    progress.finish();
  }
}

/** {@link stream} for a bulk pipeline writing into `output` itself. */
async function bulkStream<T>(
  output: Output,
  progress: Progress,
  run: Parameters<typeof runBulk<T>>[1],
): Promise<T> {
  try {
    return await runBulk(output, run);
  } catch (e) {
    if (output.isStdout && output.bytesWritten > 0) throw withIncompleteOutput(e);
    throw e;
  } finally {
    progress.finish();
  }
}

/** {@link requireMode}, releasing the input (closing its file) when the kind is wrong. */
async function checkMode(
  sniffed: Sniffed,
  accepted: readonly number[],
  what: string,
): Promise<void> {
  try {
    requireMode(sniffed, accepted, what);
  } catch (e) {
    await sniffed.readable.cancel().catch(() => undefined);
    throw e;
  }
}

function armorStage(flags: Flags, type: ArmorType): ReadableWritablePair<Uint8Array, Uint8Array>[] {
  const brand = str(flags, 'brand');
  if (!bool(flags, 'armor')) {
    if (brand !== undefined) throw usage('--brand needs --armor');
    return [];
  }
  return [createArmorStream(brand === undefined ? { type } : { type, brand })];
}

async function resolveRecipients(
  flags: Flags,
  ctx: CommandContext,
  command: string,
): Promise<Uint8Array[]> {
  const specs = list(flags, 'recipient').map(parseRecipient);
  return ctx.resolver
    .resolve(specs, { passphraseFile: str(flags, 'passphrase-file') })
    .then((keys) => {
      if (keys.length === 0 && command === 'encrypt') {
        throw usage('encrypt needs at least one recipient (-r)');
      }
      return keys;
    });
}

async function readSymmetricKeys(paths: readonly string[]): Promise<SymmetricKey[]> {
  const keys: SymmetricKey[] = [];
  for (const path of paths) {
    const bytes = await readSmallFile(path, SMALL_FILE_LIMIT, 'symmetric key file');
    keys.push(parseSymmetricKeyFile(new TextDecoder().decode(bytes), path));
  }
  return keys;
}

/** Opens the command's key source from `-k` and `--passphrase-file`, and tells the hints. */
function openKeys(flags: Flags, ctx: CommandContext): KeySource {
  const source = ctx.keys({
    keyFile: str(flags, 'key'),
    passphraseFile: str(flags, 'passphrase-file'),
  });
  // Read when an error is reported, by which time the source knows what it chose.
  ctx.hints.keys = source;
  return source;
}

// ---------------------------------------------------------------------------------------------

/**
 * `saltbox keygen`: writes a new key file and prints its public keys.
 *
 * @throws CliError `CLI_KEY_FILE_EXISTS`, `CLI_IO`.
 */
export async function keygen(flags: Flags, ctx: CommandContext): Promise<void> {
  if (bool(flags, 'keystore')) {
    if (str(flags, 'output') !== undefined || bool(flags, 'force')) {
      throw usage('--keystore cannot be combined with -o or --force');
    }
    const { keygenKeystore } = await import('./keystore-commands.js');
    await keygenKeystore(flags, ctx);
    return;
  }
  if (str(flags, 'passphrase-file') !== undefined) {
    throw usage('--passphrase-file applies to keygen --keystore only');
  }
  const path = str(flags, 'output') ?? defaultKeyFile();
  const { file, publicKeys } = await generateKeyFile();
  await writeSecretFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, bool(flags, 'force'));
  if (bool(flags, 'json')) {
    printJson(ctx.console, 'stdout', {
      keyFile: path,
      encryptionPublicKey: publicKeys.encryptionPublicKey,
      signingPublicKey: publicKeys.signingPublicKey,
      // Keybase KIDs of the same keys, for tools that speak Keybase's formats.
      encryptionKid: `0121${publicKeys.encryptionPublicKey}0a`,
      signingKid: `0120${publicKeys.signingPublicKey}0a`,
    });
    return;
  }
  ctx.console.stdout(`${publicKeys.encryptionPublicKey}\n${publicKeys.signingPublicKey}\n`);
  info(ctx.console, `wrote key file ${path}`);
  info(
    ctx.console,
    'line 1 is your encryption public key (for -r), line 2 your signing public key',
  );
}

/**
 * `saltbox encrypt`: encrypts the input to the recipients.
 *
 * @throws CliError `CLI_USAGE`, `CLI_BAD_RECIPIENT`, `CLI_RECIPIENT_UNAVAILABLE`,
 *   `CLI_NO_KEY_FILE` (without `--anonymous`), `CLI_IO`; SaltpackError through the stream.
 */
export async function encrypt(flags: Flags, ctx: CommandContext): Promise<void> {
  const recipients = await resolveRecipients(flags, ctx, 'encrypt');
  const anonymous = bool(flags, 'anonymous');
  const keys = openKeys(flags, ctx);
  let sender = null;
  if (!anonymous) {
    try {
      sender = await keys.boxKey();
    } catch (e) {
      if (e instanceof CliError && e.code === 'CLI_NO_KEY_FILE') {
        throw new CliError(e.code, e.message, {
          hint: "create a key with 'saltbox keygen', name one with -k, or pass --anonymous",
        });
      }
      throw e;
    }
  }
  const armorStages = armorStage(flags, 'ENCRYPTED MESSAGE');
  const outputPath = str(flags, 'output');
  refuseBinaryToTerminal(outputPath, armorStages.length > 0);
  const hidden = bool(flags, 'hide-recipients');
  const { input, progress } = await openInputWithProgress(str(flags, 'input'));
  const bulk = await bulkCrypto(input.size);
  try {
    const options = { recipients: recipients.map((publicKey) => ({ publicKey, hidden })), sender };
    const pipelines = armorStages.length === 0 ? bulk.pipelines : undefined;
    if (pipelines) {
      // Binary output: the bulk pipeline (both cores, flat memory; same bytes).
      const output = await openOutput(outputPath, false);
      await bulkStream(output, progress, (sink) =>
        pipelines.encrypt(input.readable, sink, { ...options, recycleInput: input.recycle }),
      );
      return;
    }
    const encryptStream = createEncryptStream({ ...options, ...bulk.options });
    const output = await openOutput(outputPath, false);
    await stream(input.readable, [encryptStream, ...armorStages], output, progress);
  } finally {
    await bulk.close();
  }
}

/**
 * `saltbox signcrypt`: signcrypts the input to box receivers and symmetric-key receivers.
 *
 * @throws CliError as {@link encrypt}; SaltpackError through the stream.
 */
export async function signcrypt(flags: Flags, ctx: CommandContext): Promise<void> {
  const boxReceivers = await resolveRecipients(flags, ctx, 'signcrypt');
  const symmetric = await readSymmetricKeys(list(flags, 'symmetric-key-file'));
  if (boxReceivers.length + symmetric.length === 0) {
    throw usage('signcrypt needs at least one receiver (-r or --symmetric-key-file)');
  }
  const keys = openKeys(flags, ctx);
  const signer = bool(flags, 'anonymous') ? null : await keys.signingKey();
  const armorStages = armorStage(flags, 'ENCRYPTED MESSAGE');
  const outputPath = str(flags, 'output');
  refuseBinaryToTerminal(outputPath, armorStages.length > 0);
  const { input, progress } = await openInputWithProgress(str(flags, 'input'));
  const sealStream = createSigncryptStream({ signer, receivers: [...boxReceivers, ...symmetric] });
  const output = await openOutput(outputPath, false);
  await stream(input.readable, [sealStream, ...armorStages], output, progress);
}

/** The JSON info object of an opened encrypted message. */
function encryptionInfo(
  i: MessageKeyInfo,
  sender: KeyIdentity | null,
  armored: boolean,
  bytes: number,
): object {
  return {
    mode: 'encryption',
    version: i.version.join('.'),
    armored,
    ...identityJson('sender', sender),
    anonymousSender: i.senderIsAnonymous,
    receiver: toHex(i.receiverPublicKey),
    receiverHidden: i.receiverIsHidden,
    bytes,
  };
}

function signcryptionInfo(
  i: SigncryptInfo,
  signer: KeyIdentity | null,
  armored: boolean,
  bytes: number,
): object {
  return {
    mode: 'signcryption',
    version: i.version.join('.'),
    armored,
    ...identityJson('signer', signer),
    anonymousSigner: i.signerPublicKey === null,
    receiverKind: i.receiverKind,
    receiver: toHex(i.receiverId),
    bytes,
  };
}

/** `--signer KEY|USER` as a keyring (see {@link signerKeyring}), or undefined without it. */
async function signingKeyring(
  flags: Flags,
  ctx: CommandContext,
): Promise<SigningKeyring | undefined> {
  const signer = str(flags, 'signer');
  if (signer === undefined) return undefined;
  return signerKeyring(signer, () =>
    ctx.session({ passphraseFile: str(flags, 'passphrase-file') }),
  );
}

/**
 * How a command names senders and signers: through this home's account, when it has one. Made
 * before the input is read: the session's modules are loaded here, because a module first
 * imported after a piped standard input was read resolved a workspace package by its symlinked
 * path — a second copy, whose error classes `instanceof` does not recognise (seen on Node 20:
 * its `realpathSync` cache path looks at the previous stat's result, a FIFO, and stops early).
 */
async function identifyContext(flags: Flags, ctx: CommandContext): Promise<IdentifyContext> {
  const { configuredSigningKid } = await import('./keystore-access.js');
  const hasAccount = (await configuredSigningKid()) !== undefined;
  if (hasAccount) await import('./session.js');
  return {
    hasAccount,
    session: () => ctx.session({ passphraseFile: str(flags, 'passphrase-file') }),
  };
}

/**
 * Before decrypting with the keystore of a signed-in home, opens the per-user-key boxes another
 * device may have made since (a rotation after a revocation), so the keyring holds every
 * generation. Best effort: offline, or with the server refusing, decryption goes on with the
 * keys already held.
 */
async function refreshAccountKeys(flags: Flags, ctx: CommandContext): Promise<void> {
  const { configuredSigningKid } = await import('./keystore-access.js');
  if ((await configuredSigningKid()) === undefined) return;
  try {
    const { saltbox } = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
    // Per-user keys, then team keys (team seeds are boxed to per-user keys), team by team so
    // one failing team does not keep the others' keys out of the keyring.
    await saltbox.syncKeys({ teamErrors: 'skip' });
  } catch (e) {
    const { code } = e as { code?: unknown };
    // A locked keystore or a missing passphrase is the key source's error to report.
    if (
      typeof code === 'string' &&
      (code === 'CLIENT_DEVICE_REVOKED' || code === 'CLI_DEVICE_MISSING')
    )
      info(
        ctx.console,
        'this device has been revoked or is gone; only keys already held can decrypt',
      );
  }
}

/**
 * `saltbox decrypt` and `saltbox signcrypt-open`: opens an encrypted or signcrypted message,
 * armored or binary, writing plaintext only as it authenticates (files only when all did).
 *
 * @param only - `signcryption` for `signcrypt-open`, which refuses plain encryption
 * @throws CliError `CLI_NO_KEY_FILE`, `CLI_WRONG_MESSAGE_TYPE`, `CLI_IO`; SaltpackError
 *   (`SALTPACK_NO_DECRYPTION_KEY`, `SALTPACK_AUTHENTICATION_FAILED`, `SALTPACK_TRUNCATED`, …).
 */
export async function open(
  flags: Flags,
  ctx: CommandContext,
  only?: 'signcryption',
): Promise<void> {
  const keyFile = str(flags, 'key');
  const keys = openKeys(flags, ctx);
  const symmetric = await readSymmetricKeys(list(flags, 'symmetric-key-file'));
  const signers = await signingKeyring(flags, ctx);
  const identify = await identifyContext(flags, ctx);
  // Load the key before touching the input: a missing key fails fast and creates no output.
  // Symmetric keys alone are enough for signcryption, unless a key file was named explicitly.
  if (keyFile === undefined) await refreshAccountKeys(flags, ctx);
  let keyring: BoxKeyring | undefined;
  try {
    keyring = await keys.boxKeyring();
  } catch (e) {
    const optional = symmetric.length > 0 && keyFile === undefined;
    if (!(optional && e instanceof CliError && e.code === 'CLI_NO_KEY_FILE')) throw e;
  }
  const { input, progress } = await openInputWithProgress(str(flags, 'input'));
  try {
    const sniffed = await sniff(input.readable);
    const accepted =
      only === 'signcryption' ? [MODE.signcryption] : [MODE.encryption, MODE.signcryption];
    await checkMode(
      sniffed,
      accepted,
      only === 'signcryption' ? 'a signcrypted message' : 'an encrypted message',
    );
    const armored = sniffed.frame !== undefined;
    // Unreadable headers go to the stream the command is named after, for its precise error.
    const signcrypted =
      sniffed.mode === MODE.signcryption || (sniffed.mode === undefined && only === 'signcryption');
    if (signcrypted) {
      const openStream = createSigncryptOpenStream({
        ...(keyring ? { keyring } : {}),
        ...(symmetric.length > 0 ? { symmetricResolver: createSymmetricResolver(symmetric) } : {}),
        ...(signers ? { signingKeyring: signers } : {}),
      });
      const output = await openOutput(str(flags, 'output'), true);
      await stream(sniffed.readable, [openStream], output, progress);
      const opened = await openStream.info;
      const signer =
        opened.signerPublicKey === null
          ? null
          : await identifyKey(identify, opened.signerPublicKey, 'signing');
      if (bool(flags, 'json')) {
        printJson(
          ctx.console,
          'stderr',
          signcryptionInfo(opened, signer, armored, output.bytesWritten),
        );
      } else {
        info(ctx.console, `signer: ${signer === null ? 'anonymous' : describeKey(signer)}`);
      }
      return;
    }
    if (signers) throw usage('--signer applies to signcrypted messages only');
    if (!keyring) throw new CliError('CLI_NO_KEY_FILE', `no key file at ${keys.location}`);
    const bulk = await bulkCrypto(input.size);
    const output = await openOutput(str(flags, 'output'), true);
    let opened: MessageKeyInfo;
    try {
      const pipelines = armored ? undefined : bulk.pipelines;
      if (pipelines) {
        // Binary input: the bulk pipeline (both cores, flat memory; same checks and codes).
        opened = await bulkStream(output, progress, (sink) =>
          pipelines.decrypt(sniffed.readable, sink, { keyring, recycleInput: input.recycle }),
        );
      } else {
        const decryptStream = createDecryptStream({ keyring, ...bulk.options });
        await stream(sniffed.readable, [decryptStream], output, progress);
        opened = await decryptStream.info;
      }
    } finally {
      await bulk.close();
    }
    const sender = opened.senderIsAnonymous
      ? null
      : await identifyKey(identify, opened.senderPublicKey, 'encryption');
    if (bool(flags, 'json')) {
      printJson(
        ctx.console,
        'stderr',
        encryptionInfo(opened, sender, armored, output.bytesWritten),
      );
    } else {
      info(ctx.console, `sender: ${sender === null ? 'anonymous' : describeKey(sender)}`);
    }
  } finally {
    progress.finish();
  }
}

/**
 * `saltbox sign`: an attached signature (the message inside) or, with `--detached`, a
 * signature alone.
 *
 * @throws CliError `CLI_NO_KEY_FILE`, `CLI_USAGE`, `CLI_IO`.
 */
export async function sign(flags: Flags, ctx: CommandContext): Promise<void> {
  const keys = openKeys(flags, ctx);
  const signer = await keys.signingKey();
  const detached = bool(flags, 'detached');
  const armorStages = armorStage(flags, detached ? 'DETACHED SIGNATURE' : 'SIGNED MESSAGE');
  const outputPath = str(flags, 'output');
  refuseBinaryToTerminal(outputPath, armorStages.length > 0);
  const { input, progress } = await openInputWithProgress(str(flags, 'input'));
  if (!detached) {
    // Large messages hash their chunks on the thread pool (both cores; same bytes).
    const bulk = await bulkCrypto(input.size);
    try {
      const output = await openOutput(outputPath, false);
      const signStream = createSignStream({ signer, ...bulk.options });
      await stream(input.readable, [signStream, ...armorStages], output, progress);
    } finally {
      await bulk.close();
    }
    return;
  }
  let signature: Uint8Array;
  try {
    signature = await signDetached(input.readable, { signer });
  } finally {
    progress.finish();
  }
  const output = await openOutput(outputPath, false);
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(signature);
      controller.close();
    },
  });
  await stream(source, armorStages, output, progress);
}

/** The JSON info object of a verified signature. */
function signerInfo(s: SignerInfo, signer: KeyIdentity, kind: string, armored: boolean): object {
  return {
    mode: kind,
    version: s.version.join('.'),
    armored,
    ...identityJson('signer', signer),
  };
}

/** Reports a verified signature's signer, by name when this home's account can verify it. */
async function reportSigner(
  flags: Flags,
  ctx: CommandContext,
  identify: IdentifyContext,
  s: SignerInfo,
  kind: 'attached' | 'detached',
  armored: boolean,
): Promise<void> {
  const signer = await identifyKey(identify, s.signerPublicKey, 'signing');
  if (bool(flags, 'json')) printJson(ctx.console, 'stderr', signerInfo(s, signer, kind, armored));
  else info(ctx.console, `good signature by signer: ${describeKey(signer)}`);
}

/**
 * `saltbox verify`: checks an attached signature and writes the message (only verified chunks;
 * files only when all verified), or with `--detached-signature` checks a detached one over the
 * input.
 *
 * @throws CliError `CLI_WRONG_MESSAGE_TYPE`, `CLI_USAGE`, `CLI_IO`; SaltpackError
 *   (`SALTPACK_BAD_SIGNATURE`, `SALTPACK_UNKNOWN_SENDER` with `--signer`, …).
 */
export async function verify(flags: Flags, ctx: CommandContext): Promise<void> {
  const keyring = await signingKeyring(flags, ctx);
  const identify = await identifyContext(flags, ctx);
  const detachedPath = str(flags, 'detached-signature');
  if (detachedPath !== undefined) {
    if (str(flags, 'output') !== undefined) {
      throw usage('-o has no use with --detached-signature (there is no message to write)');
    }
    let signature = await readSmallFile(detachedPath, SMALL_FILE_LIMIT, 'signature file');
    let armored = false;
    const first = signature[0];
    if (first !== undefined && first !== 0xc4 && first !== 0xc5 && first !== 0xc6) {
      const d = await dearmor(signature);
      armored = true;
      if (d.frame.type !== 'DETACHED SIGNATURE') {
        requireMode(
          { readable: new ReadableStream(), frame: d.frame, mode: undefined },
          [MODE.detachedSigning],
          'a detached signature',
        );
      }
      signature = d.data;
    } else {
      requireMode(
        { readable: new ReadableStream(), frame: undefined, mode: headerMode(signature) },
        [MODE.detachedSigning],
        'a detached signature',
      );
    }
    const { input, progress } = await openInputWithProgress(str(flags, 'input'));
    let signer: SignerInfo;
    try {
      signer = await verifyDetached(signature, input.readable, keyring ? { keyring } : {});
    } finally {
      progress.finish();
    }
    await reportSigner(flags, ctx, identify, signer, 'detached', armored);
    return;
  }
  const { input, progress } = await openInputWithProgress(str(flags, 'input'));
  try {
    const sniffed = await sniff(input.readable);
    await checkMode(sniffed, [MODE.attachedSigning], 'a signed message');
    // Large messages hash their chunks on the thread pool (both cores; same verdicts).
    const bulk = await bulkCrypto(input.size);
    const verifyStream = createVerifyStream({ ...(keyring ? { keyring } : {}), ...bulk.options });
    const output = await openOutput(str(flags, 'output'), true);
    try {
      await stream(sniffed.readable, [verifyStream], output, progress);
    } finally {
      await bulk.close();
    }
    await reportSigner(
      flags,
      ctx,
      identify,
      await verifyStream.signer,
      'attached',
      sniffed.frame !== undefined,
    );
  } finally {
    progress.finish();
  }
}

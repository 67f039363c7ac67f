/**
 * Saltpack messages in the page (specs/saltpack.md): encrypt text to users and teams, decrypt
 * armored text. Recipients come only from verified chains — a user's newest per-user key and
 * live device keys (`userEncryptionKids`, the CLI's and the provider's rule), a team's current
 * per-team key (`TeamManager.recipient`). The sender box key and every decryption key stay in
 * the keystore Worker (`keystoreBoxKey`, `keystoreKeyring`): the page sees only public keys.
 *
 * @packageDocumentation
 */
import { encryptionPublicKey, userEncryptionKids } from '@saltbox/client/browser';
import { curve25519Kid, isValidUsername, normalizeUsername } from '@saltbox/identity';
import { keystoreBoxKey, keystoreKeyring } from '@saltbox/keystore';
import { encryptArmored, openEncrypted, toHex } from '@saltbox/saltpack';
import { WebError } from './errors.js';
import type { WebSession } from './session.js';

/** What a decrypted message showed. */
export interface OpenedMessage {
  text: string;
  /** Who sent it, as far as this session can tell. */
  sender: string;
}

/** Splits a recipient list: names separated by commas or white space. */
export function parseRecipientList(list: string): string[] {
  return list
    .split(/[\s,]+/)
    .map((r) => r.trim())
    .filter((r) => r !== '');
}

async function recipientKeys(session: WebSession, name: string): Promise<Uint8Array[]> {
  if (name.toLowerCase().startsWith('team:')) {
    const team = name.slice('team:'.length);
    return [(await session.manager.recipient(team)).publicKey];
  }
  if (!isValidUsername(name))
    throw new WebError('WEB_INVALID_INPUT', `recipient ${name} is not a username or team:name`);
  const user = await session.account.users.load(normalizeUsername(name));
  const kids = userEncryptionKids(user);
  if (kids.length === 0)
    throw new WebError('WEB_INVALID_INPUT', `${user.username} has no live encryption key`);
  return kids.map((kid) => encryptionPublicKey(kid));
}

/**
 * Encrypts `text` to every named recipient (and, with `includeSelf`, to the signed-in user), as
 * this device, into armored Saltpack (`BEGIN SALTPACK ENCRYPTED MESSAGE.`).
 *
 * @throws WebError `WEB_INVALID_INPUT` for no recipients, a malformed name or a user without
 *   keys; ClientError `CLIENT_USER_NOT_FOUND`, `CLIENT_TEAM_NOT_FOUND` and the loaders' codes;
 *   KeystoreError codes from the sender key.
 */
export async function encryptMessage(
  session: WebSession,
  recipients: string,
  text: string,
  includeSelf: boolean,
): Promise<string> {
  const names = parseRecipientList(recipients);
  if (includeSelf) names.push(session.config.username);
  if (names.length === 0) throw new WebError('WEB_INVALID_INPUT', 'name at least one recipient');
  const keys = new Map<string, Uint8Array>();
  for (const name of names)
    for (const key of await recipientKeys(session, name)) keys.set(toHex(key), key);
  return encryptArmored(new TextEncoder().encode(text), {
    recipients: [...keys.values()],
    sender: keystoreBoxKey(session.keystore, session.config.device.encryptionKid),
  });
}

/**
 * Decrypts an armored (or pasted) Saltpack encrypted or signcrypted message with the keys this
 * session holds: its device, its per-user keys, and the team keys of every team it is in
 * (opened first, so a message to `team:NAME` opens too).
 *
 * @throws WebError `WEB_INVALID_INPUT` for empty input or a plaintext that is not UTF-8 text;
 *   SaltpackError codes (not a message, no key for it, damaged or forged).
 */
export async function decryptMessage(session: WebSession, armored: string): Promise<OpenedMessage> {
  const message = armored.trim();
  if (message === '') throw new WebError('WEB_INVALID_INPUT', 'paste a saltpack message');
  await session.saltbox.syncKeys({ perUserKeys: false });
  const opened = await openEncrypted(message, { keyring: await keystoreKeyring(session.keystore) });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(opened.plaintext);
  } catch {
    throw new WebError('WEB_INVALID_INPUT', 'the message is not utf-8 text');
  }
  return { text, sender: await describeSender(session, opened) };
}

async function describeSender(
  session: WebSession,
  opened: Awaited<ReturnType<typeof openEncrypted>>,
): Promise<string> {
  if (opened.kind === 'signcryption') {
    const key = opened.info.signerPublicKey;
    return key === null ? 'anonymous signer' : `signed by key ${toHex(key)}`;
  }
  if (opened.info.senderIsAnonymous) return 'anonymous sender';
  const kid = curve25519Kid(opened.info.senderPublicKey);
  const me = await session.account.me();
  const mine = me.keys.find((k) => k.kid === kid);
  if (mine) {
    const device = me.devices.find((d) => d.id === mine.deviceId);
    return `sent by you (${device?.name ?? 'one of your devices'})`;
  }
  return `sender key ${kid}`;
}

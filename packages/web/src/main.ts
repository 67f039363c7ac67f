/**
 * The app's page script (`dist/app.js`): forms and views over a {@link WebSession}. Keys stay in
 * the keystore Worker; this script sees usernames, public keys, team names and the KV values the
 * user asked for. The paper key is read from its field, the field is cleared at once, and the
 * phrase is handed to the Worker (which derives the paper device) and dropped — it is never
 * stored, logged or shown.
 *
 * @packageDocumentation
 */
import { defaultBackend } from '@saltbox/saltpack';
import type { CryptoBackend } from '@saltbox/saltpack';
import type { KeystoreClient } from '@saltbox/keystore';
import type { AccountConfig } from '@saltbox/client/browser';
import { forgetAccount, readRememberedAccount, rememberAccount } from './browser-stores.js';
import { shownError, WebError } from './errors.js';
import {
  deleteKeystoreDatabase,
  sessionPassphrase,
  startKeystoreWorker,
} from './keystore-connection.js';
import type { KeystoreMode } from './keystore-connection.js';
import { decryptMessage, encryptMessage } from './messages.js';
import { WebSession } from './session.js';

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new WebError('WEB_INTERNAL', `the page has no #${id}`);
  return el;
}

const field = (id: string) => byId(id) as HTMLInputElement | HTMLTextAreaElement;

const SECTIONS = ['signin', 'unlock', 'account', 'kv', 'messages'] as const;
type Section = (typeof SECTIONS)[number];

function show(...visible: Section[]): void {
  for (const s of SECTIONS) byId(s).hidden = !visible.includes(s);
}

function setStatus(text: string): void {
  byId('status').textContent = text;
}

function showError(e: unknown): void {
  const shown = shownError(e);
  // Uncoded errors may quote input: their text goes to the console of this browser only.
  if (shown.code === 'WEB_INTERNAL') console.error(e);
  const el = byId('error');
  el.dataset.code = shown.code;
  el.textContent = `${shown.code}: ${shown.message}`;
  el.hidden = false;
  setStatus('');
}

function clearError(): void {
  const el = byId('error');
  el.hidden = true;
  el.textContent = '';
  delete el.dataset.code;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text: string,
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

/** Runs one user action: one at a time, buttons disabled meanwhile, errors shown. */
async function action(label: string, fn: () => Promise<void>): Promise<void> {
  const buttons = Array.from(document.querySelectorAll('button'));
  for (const b of buttons) b.disabled = true;
  document.body.setAttribute('aria-busy', 'true');
  clearError();
  setStatus(`${label}…`);
  try {
    await fn();
    setStatus(`${label}: done`);
  } catch (e) {
    showError(e);
  } finally {
    for (const b of buttons) b.disabled = false;
    document.body.removeAttribute('aria-busy');
  }
}

interface AppState {
  backend: CryptoBackend;
  keystore: KeystoreClient | null;
  mode: KeystoreMode | null;
  session: WebSession | null;
}

const state: AppState = { backend: undefined as never, keystore: null, mode: null, session: null };

async function closeKeystore(): Promise<void> {
  const ks = state.keystore;
  state.keystore = null;
  state.session = null;
  state.mode = null;
  if (ks) await ks.close();
}

function sessionEnv(keystore: KeystoreClient) {
  return { backend: state.backend, keystore, server: location.origin, storage: localStorage };
}

async function renderOverview(session: WebSession): Promise<void> {
  const o = await session.overview();
  byId('whoami').textContent = `signed in as ${o.user.username}`;
  byId('account-username').textContent = o.user.username;
  byId('account-uid').textContent = o.user.uid;
  byId('account-fingerprint').textContent = o.fingerprint;
  const current = o.devices.find((d) => d.current);
  byId('account-device').textContent = current
    ? `${current.name ?? current.id} (${current.type ?? 'device'})`
    : session.config.device.id;
  const tbody = (byId('devices') as HTMLTableElement).tBodies[0]!;
  tbody.replaceChildren(
    ...o.devices.map((d) => {
      const tr = document.createElement('tr');
      tr.append(
        element('td', `${d.name ?? '(unnamed)'}${d.current ? ' (this one)' : ''}`),
        element('td', d.type ?? ''),
        element('td', d.status),
        element('td', d.id),
      );
      return tr;
    }),
  );
  const teams = byId('teams');
  teams.replaceChildren(
    ...(o.teams.length === 0
      ? [element('li', 'no teams yet')]
      : o.teams.map((t) =>
          element('li', `${t.name} (${t.role}${t.implicit ? ', implicit' : ''})`),
        )),
  );
  const own = `${o.user.username},${o.user.username}`;
  const names = [...new Set([...o.teams.map((t) => t.name), own])];
  byId('kv-team-list').replaceChildren(
    ...names.map((n) => {
      const opt = document.createElement('option');
      opt.value = n;
      return opt;
    }),
  );
  const teamField = field('kv-team');
  if (teamField.value === '') teamField.value = o.teams.find((t) => !t.implicit)?.name ?? own;
  show('account', 'kv', 'messages');
}

async function signIn(): Promise<void> {
  const username = field('signin-username').value;
  const phraseField = field('signin-paperkey');
  const passField = field('signin-passphrase');
  let phrase = phraseField.value;
  const passphrase = passField.value;
  phraseField.value = '';
  passField.value = '';
  const mode: KeystoreMode = passphrase === '' ? 'memory' : 'indexeddb';
  await closeKeystore();
  const keystore = startKeystoreWorker(mode);
  try {
    await keystore.unlock({
      passphrase: mode === 'memory' ? sessionPassphrase() : passphrase,
      create: true,
    });
    const session = await WebSession.signIn(sessionEnv(keystore), {
      username,
      phrase,
      persist: mode === 'indexeddb',
    });
    phrase = '';
    if (mode === 'indexeddb') rememberAccount(localStorage, session.config);
    state.keystore = keystore;
    state.mode = mode;
    state.session = session;
    await renderOverview(session);
  } catch (e) {
    phrase = '';
    await keystore.close();
    throw e;
  }
}

async function unlock(config: AccountConfig): Promise<void> {
  const passField = field('unlock-passphrase');
  const passphrase = passField.value;
  passField.value = '';
  await closeKeystore();
  const keystore = startKeystoreWorker('indexeddb');
  try {
    await keystore.unlock({ passphrase });
    const session = await WebSession.resume(sessionEnv(keystore), config);
    state.keystore = keystore;
    state.mode = 'indexeddb';
    state.session = session;
    await renderOverview(session);
  } catch (e) {
    await keystore.close();
    throw e;
  }
}

async function signOut(): Promise<void> {
  await closeKeystore();
  // Signing out of a remembered browser removes its keys: the encrypted database goes too.
  if (readRememberedAccount(localStorage)) {
    await deleteKeystoreDatabase();
    forgetAccount(localStorage);
  }
  byId('whoami').textContent = '';
  // Nothing of the session stays in the page: values, messages, lists.
  for (const id of ['kv-value', 'msg-text', 'msg-armored', 'msg-recipients']) field(id).value = '';
  for (const id of ['kv-output', 'kv-summary', 'msg-output', 'msg-sender', 'kv-list', 'teams'])
    byId(id).replaceChildren();
  (byId('devices') as HTMLTableElement).tBodies[0]!.replaceChildren();
  showStart();
}

function showStart(): void {
  const remembered = readRememberedAccount(localStorage);
  if (remembered?.server === location.origin) {
    byId('unlock-who').textContent = `${remembered.username} on this browser`;
    show('unlock');
  } else {
    show('signin');
  }
}

function kvFields() {
  return {
    team: field('kv-team').value,
    namespace: field('kv-namespace').value,
    key: field('kv-key').value,
    value: field('kv-value').value,
  };
}

function kvResult(summary: string, output: string, list: string[], revision?: number): void {
  const s = byId('kv-summary');
  s.textContent = summary;
  if (revision === undefined) delete s.dataset.revision;
  else s.dataset.revision = String(revision);
  byId('kv-output').textContent = output;
  byId('kv-list').replaceChildren(...list.map((i) => element('li', i)));
}

async function kvAction(op: string): Promise<void> {
  const session = state.session;
  if (session === null) throw new WebError('WEB_NOT_SIGNED_IN', 'sign in first');
  const f = kvFields();
  switch (op) {
    case 'namespaces': {
      const ns = await session.kvNamespaces(f.team);
      kvResult(`${ns.length} namespace(s) in ${f.team}`, '', ns);
      return;
    }
    case 'keys': {
      const keys = await session.kvKeys(f.team, f.namespace);
      kvResult(
        `${keys.length} key(s) in ${f.namespace}`,
        '',
        keys.map((k) => `${k.entryKey} (revision ${k.revision})`),
      );
      return;
    }
    case 'get': {
      const v = await session.kvGet(f.team, f.namespace, f.key);
      kvResult(
        v.value === null
          ? `no value (revision ${v.revision})`
          : `revision ${v.revision}, team key generation ${v.teamKeyGen}`,
        v.value ?? '',
        [],
        v.revision,
      );
      return;
    }
    case 'put': {
      const { revision } = await session.kvPut(f.team, f.namespace, f.key, f.value);
      kvResult(`stored at revision ${revision}`, '', [], revision);
      return;
    }
    case 'delete': {
      const { revision } = await session.kvDelete(f.team, f.namespace, f.key);
      kvResult(`deleted at revision ${revision}`, '', [], revision);
      return;
    }
    default:
      throw new WebError('WEB_INVALID_INPUT', 'unknown kv action');
  }
}

async function messageAction(op: string): Promise<void> {
  const session = state.session;
  if (session === null) throw new WebError('WEB_NOT_SIGNED_IN', 'sign in first');
  if (op === 'encrypt') {
    field('msg-armored').value = await encryptMessage(
      session,
      field('msg-recipients').value,
      field('msg-text').value,
      (byId('msg-self') as HTMLInputElement).checked,
    );
    return;
  }
  const opened = await decryptMessage(session, field('msg-armored').value);
  byId('msg-sender').textContent = opened.sender;
  byId('msg-output').textContent = opened.text;
}

async function start(): Promise<void> {
  byId('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void action('signing in', signIn);
  });
  byId('unlock-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const config = readRememberedAccount(localStorage);
    if (config) void action('unlocking', () => unlock(config));
  });
  byId('forget').addEventListener('click', () => {
    void action('forgetting this browser', signOut);
  });
  byId('signout').addEventListener('click', () => {
    void action('signing out', signOut);
  });
  byId('refresh').addEventListener('click', () => {
    const s = state.session;
    if (s) void action('refreshing', () => renderOverview(s));
  });
  byId('kv-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
  });
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('button[data-kv]'))) {
    b.addEventListener('click', () => {
      const op = b.dataset.kv ?? '';
      void action(op, () => kvAction(op));
    });
  }
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('button[data-msg]'))) {
    b.addEventListener('click', () => {
      const op = b.dataset.msg ?? '';
      void action(op, () => messageAction(op));
    });
  }
  state.backend = await defaultBackend();
  showStart();
  document.body.dataset.ready = 'true';
}

void start().catch(showError);

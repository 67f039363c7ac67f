/**
 * The app's page script (`dist/app.js`): the start screens (sign in, sign up, unlock), the
 * workspace (a sidebar of vaults — your own store and each team — and the vault, team, account
 * and message views) and the in-place unlock after the keystore's idle lock. Keys stay in the
 * keystore Worker; this script sees usernames, public keys, team names and the KV values the
 * user asked for. A paper key typed in is read from its field, the field is cleared at once,
 * and the phrase is handed to the Worker and dropped — it is never stored, logged or shown
 * (a new paper key is shown once, on its own screen, and removed from the page after).
 *
 * @packageDocumentation
 */
import { defaultBackend } from '@saltbox/saltpack';
import type { CryptoBackend } from '@saltbox/saltpack';
import type { KeystoreClient } from '@saltbox/keystore';
import type { AccountConfig, AccountDevice } from '@saltbox/client/browser';
import { renderAccount, TeamsView, wireAccount } from './admin.js';
import type { AdminHooks } from './admin.js';
import { forgetAccount, readRememberedAccount, rememberAccount } from './browser-stores.js';
import { CLIPBOARD_CLEAR_MS, clearCopied } from './clipboard.js';
import { WebError } from './errors.js';
import {
  deleteKeystoreDatabase,
  sessionPassphrase,
  startKeystoreWorker,
} from './keystore-connection.js';
import type { KeystoreMode } from './keystore-connection.js';
import { decryptMessage, encryptMessage } from './messages.js';
import { WebSession } from './session.js';
import {
  action,
  byId,
  clearError,
  codeOf,
  el,
  field,
  setRetryInterceptor,
  setStatus,
  showError,
} from './ui.js';
import { VaultView } from './vault.js';

/**
 * Timeouts the page's query string may shorten, never lengthen (the tests use it):
 * `?idle-lock-ms=` for the keystore's idle lock, `?clipboard-clear-ms=` for the clipboard.
 */
function shortened(name: string, max: number): number | undefined {
  const v = Number(new URLSearchParams(location.search).get(name));
  return Number.isSafeInteger(v) && v >= 1000 && v < max ? v : undefined;
}
const IDLE_LOCK_MS = shortened('idle-lock-ms', 30 * 60_000);
const CLIPBOARD_MS = shortened('clipboard-clear-ms', CLIPBOARD_CLEAR_MS) ?? CLIPBOARD_CLEAR_MS;
/** The vault opened last (a team name, public), opened first on the next visit. */
const LAST_VAULT = 'saltbox:last-vault';
/** How often the page asks the Worker whether it locked itself (`status` does not touch it). */
const LOCK_POLL_MS = 2000;

type StartScreen = 'signin' | 'signup' | 'paperkey' | 'unlock';
const START_SCREENS: StartScreen[] = ['signin', 'signup', 'paperkey', 'unlock'];
const VIEWS = ['vault', 'teams-view', 'account', 'messages'] as const;
type View = (typeof VIEWS)[number];
/** The sidebar's Manage buttons (`data-view`) and the views they show. */
const NAV_VIEWS: Record<string, View> = {
  teams: 'teams-view',
  account: 'account',
  messages: 'messages',
};

interface AppState {
  backend: CryptoBackend;
  keystore: KeystoreClient | null;
  mode: KeystoreMode | null;
  session: WebSession | null;
  lockPoll: ReturnType<typeof setInterval> | undefined;
  locked: Promise<boolean> | null;
  /** The persistent keystore's Worker, started while the unlock screen waits for input. */
  early: KeystoreClient | null;
}

const state: AppState = {
  backend: undefined as never,
  keystore: null,
  mode: null,
  session: null,
  lockPoll: undefined,
  locked: null,
  early: null,
};

const vault = new VaultView({ clipboardClearMs: CLIPBOARD_MS });

function currentSession(): WebSession {
  if (state.session === null) throw new WebError('WEB_NOT_SIGNED_IN', 'sign in first');
  return state.session;
}

function showStartScreen(which: StartScreen): void {
  byId('workspace').hidden = true;
  byId('start').hidden = false;
  for (const s of START_SCREENS) byId(s).hidden = s !== which;
  for (const id of ['lock', 'signout', 'menu']) byId(id).hidden = true;
}

function showView(view: View): void {
  for (const v of VIEWS) byId(v).hidden = v !== view;
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('.nav[data-view]')))
    b.setAttribute('aria-current', String(NAV_VIEWS[b.dataset.view ?? ''] === view));
  if (view !== 'vault')
    for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('[data-team]')))
      b.setAttribute('aria-current', 'false');
  closeMenuOnPhone();
}

function closeMenuOnPhone(): void {
  if (window.matchMedia('(max-width: 760px)').matches) {
    byId('sidebar').dataset.open = 'false';
    byId('menu').setAttribute('aria-expanded', 'false');
  }
}

async function closeKeystore(): Promise<void> {
  const early = state.early;
  state.early = null;
  if (early) await early.close();
  clearInterval(state.lockPoll);
  state.lockPoll = undefined;
  const ks = state.keystore;
  state.keystore = null;
  state.session = null;
  state.mode = null;
  if (ks) await ks.close();
}

function sessionEnv(keystore: KeystoreClient) {
  return { backend: state.backend, keystore, server: location.origin, storage: localStorage };
}

function startWorker(mode: KeystoreMode): KeystoreClient {
  return startKeystoreWorker(mode, IDLE_LOCK_MS === undefined ? {} : { idleLockMs: IDLE_LOCK_MS });
}

function ownStore(session: WebSession): string {
  return `${session.config.username},${session.config.username}`;
}

/** Renders the sidebar, account and team picker from a fresh overview. */
async function refreshWorkspace(): Promise<void> {
  const session = currentSession();
  const o = await session.overview();
  byId('whoami').textContent = `signed in as ${o.user.username}`;
  const own = ownStore(session);
  const named = o.teams.filter((t) => !t.implicit);
  const current = vault.teamName ?? null;
  byId('team-list').replaceChildren(
    ...[
      { name: own, label: 'Personal', role: 'you' },
      ...named.map((t) => ({ name: t.name, label: t.name, role: t.role })),
    ].map((t) => {
      const b = el(
        'button',
        {
          type: 'button',
          'data-team': t.name,
          'aria-current': String(t.name === current && !byId('vault').hidden),
        },
        el('span', {}, t.label),
        el('span', { class: 'meta' }, t.role),
      );
      b.addEventListener('click', () => {
        void action('opening the vault', () => openVault(t.name));
      });
      return el('li', {}, b);
    }),
  );
  renderAccount(o, hooks);
  teams.setTeams(named.map((t) => t.name));
}

async function openVault(name: string): Promise<void> {
  await vault.openTeam(currentSession(), name);
  localStorage.setItem(LAST_VAULT, name);
  showView('vault');
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('[data-team]')))
    b.setAttribute('aria-current', String(b.dataset.team === vault.teamName));
}

/** Shows the workspace for a new session: the first team's vault (or your own). */
async function enterWorkspace(session: WebSession, mode: KeystoreMode, ks: KeystoreClient) {
  state.keystore = ks;
  state.mode = mode;
  state.session = session;
  // The vault opened last on this browser (a public team name) loads while the sidebar does;
  // without one, the first team is known only once the sidebar has loaded.
  const last = localStorage.getItem(LAST_VAULT);
  if (last !== null) {
    await Promise.all([refreshWorkspace(), openVault(last).catch(() => undefined)]);
    if (vault.teamName !== last) await openVault(ownStore(session));
  } else {
    await refreshWorkspace();
    const first = document.querySelector<HTMLButtonElement>('[data-team]:not([data-team*=","])');
    await openVault(first?.dataset.team ?? ownStore(session));
  }
  performance.mark('saltbox:workspace');
  byId('start').hidden = true;
  byId('workspace').hidden = false;
  byId('menu').hidden = false;
  byId('signout').hidden = false;
  byId('lock').hidden = mode !== 'indexeddb';
  byId('sidebar').dataset.open = 'false';
  if (mode === 'indexeddb') watchLock();
  byId('main').focus();
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
  const keystore = startWorker(mode);
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
    await enterWorkspace(session, mode, keystore);
  } catch (e) {
    phrase = '';
    await keystore.close();
    throw e;
  }
}

async function signUp(): Promise<void> {
  const passField = field('signup-passphrase');
  const passphrase = passField.value;
  passField.value = '';
  if (passphrase === '')
    throw new WebError('WEB_INVALID_INPUT', 'choose a passphrase for the keys in this browser');
  await closeKeystore();
  // A fresh account's device keys live in this browser: an old keystore here is replaced.
  if (readRememberedAccount(localStorage)) forgetAccount(localStorage);
  await deleteKeystoreDatabase();
  const keystore = startWorker('indexeddb');
  try {
    await keystore.unlock({ passphrase, create: true });
    const { session, paperKey } = await WebSession.signUp(sessionEnv(keystore), {
      username: field('signup-username').value,
      deviceName: field('signup-device').value,
      invite: field('signup-invite').value,
      onCreated: (config) => {
        rememberAccount(localStorage, config);
        return Promise.resolve();
      },
    });
    state.keystore = keystore;
    // The workspace opens once the user has shown they wrote the paper key down.
    showPaperKey(paperKey.phrase, () => enterWorkspace(session, 'indexeddb', keystore));
  } catch (e) {
    if (state.keystore !== keystore) await keystore.close();
    throw e;
  }
}

/**
 * Shows a new paper key once, then asks for two of its words (chosen at random) before going
 * on to `next` (or back to the workspace); the words leave the page then.
 */
function showPaperKey(phrase: string, next?: () => Promise<void>): void {
  const words = phrase.split(' ');
  const [a, b] = twoPositions(words.length);
  const workspaceShown = !byId('workspace').hidden;
  showStartScreen('paperkey');
  byId('paperkey-words').textContent = phrase;
  byId('paperkey-label-a').textContent = `Word ${a + 1}`;
  byId('paperkey-label-b').textContent = `Word ${b + 1}`;
  byId('paperkey-form').dataset.positions = `${a + 1},${b + 1}`;
  field('paperkey-check-a').value = '';
  field('paperkey-check-b').value = '';
  byId('paperkey-words').focus();
  const form = byId('paperkey-form');
  const onSubmit = (ev: Event) => {
    ev.preventDefault();
    const ok =
      field('paperkey-check-a').value.trim().toLowerCase() === words[a] &&
      field('paperkey-check-b').value.trim().toLowerCase() === words[b];
    if (!ok) {
      showError(
        new WebError('WEB_INVALID_INPUT', `those are not words ${a + 1} and ${b + 1} of the key`),
      );
      return;
    }
    clearError();
    form.removeEventListener('submit', onSubmit);
    byId('paperkey-words').textContent = '';
    field('paperkey-check-a').value = '';
    field('paperkey-check-b').value = '';
    byId('paperkey').hidden = true;
    if (workspaceShown) {
      byId('start').hidden = true;
      byId('workspace').hidden = false;
      for (const id of ['signout', 'menu']) byId(id).hidden = false;
      byId('lock').hidden = state.mode !== 'indexeddb';
    }
    if (next) void action('opening the vault', next);
  };
  form.addEventListener('submit', onSubmit);
}

function twoPositions(n: number): [number, number] {
  const r = crypto.getRandomValues(new Uint32Array(2));
  const a = r[0]! % n;
  // n - 1 others; small modulo bias is irrelevant for picking which words to ask.
  const b = (a + 1 + (r[1]! % (n - 1))) % n;
  return a < b ? [a, b] : [b, a];
}

async function unlock(config: AccountConfig): Promise<void> {
  const passField = field('unlock-passphrase');
  const passphrase = passField.value;
  passField.value = '';
  // Started when the unlock screen was shown, so its WebAssembly is ready by now.
  const early = state.early;
  state.early = null;
  await closeKeystore();
  const keystore = early ?? startWorker('indexeddb');
  try {
    performance.mark('saltbox:unlock');
    await keystore.unlock({ passphrase });
    performance.mark('saltbox:unlocked');
    const session = await WebSession.resume(sessionEnv(keystore), config);
    performance.mark('saltbox:resumed');
    await enterWorkspace(session, 'indexeddb', keystore);
  } catch (e) {
    await keystore.close();
    throw e;
  }
}

async function signOut(): Promise<void> {
  await clearCopied();
  await closeKeystore();
  // Signing out of a remembered browser removes its keys: the encrypted database goes too.
  if (readRememberedAccount(localStorage)) {
    await deleteKeystoreDatabase();
    forgetAccount(localStorage);
  }
  localStorage.removeItem(LAST_VAULT);
  byId('whoami').textContent = '';
  vault.clear();
  // Nothing of the session stays in the page: values, messages, lists.
  for (const id of ['msg-text', 'msg-armored', 'msg-recipients']) field(id).value = '';
  for (const id of ['msg-output', 'msg-sender', 'teams', 'team-list', 'team-pick'])
    byId(id).replaceChildren();
  for (const t of ['devices', 'members'])
    (byId(t) as HTMLTableElement).tBodies[0]!.replaceChildren();
  const dialog = byId('lock-dialog') as HTMLDialogElement;
  if (dialog.open) dialog.close();
  showStart();
}

function showStart(): void {
  const remembered = readRememberedAccount(localStorage);
  if (remembered?.server === location.origin) {
    byId('unlock-who').textContent = `${remembered.username} on this browser`;
    showStartScreen('unlock');
    state.early ??= startWorker('indexeddb');
  } else {
    showStartScreen('signin');
  }
}

// ------------------------------------------------------------------ the idle lock, in place

function watchLock(): void {
  clearInterval(state.lockPoll);
  state.lockPoll = setInterval(() => {
    const ks = state.keystore;
    if (ks === null || state.locked !== null) return;
    ks.status().then(
      (s) => {
        if (s.state === 'locked') void askUnlock();
      },
      () => undefined,
    );
  }, LOCK_POLL_MS);
}

/**
 * Shows the lock dialog (once, however many callers ask) and resolves true when the same
 * Worker is unlocked again, false when the user signs out instead. Revealed values and the
 * clipboard are cleared first: a locked page shows no secret.
 */
function askUnlock(): Promise<boolean> {
  if (state.locked !== null) return state.locked;
  vault.forgetValue();
  void clearCopied();
  // Nothing shows behind the lock dialog (a draft being edited stays, unseen, for after).
  document.body.dataset.locked = 'true';
  const dialog = byId('lock-dialog') as HTMLDialogElement;
  const form = byId('lock-form');
  const err = byId('lock-error');
  err.hidden = true;
  field('lock-passphrase').value = '';
  dialog.showModal();
  field('lock-passphrase').focus();
  state.locked = new Promise<boolean>((resolve) => {
    const finish = (ok: boolean) => {
      form.removeEventListener('submit', onSubmit);
      byId('lock-signout').removeEventListener('click', onSignOut);
      dialog.removeEventListener('cancel', onCancel);
      state.locked = null;
      delete document.body.dataset.locked;
      if (dialog.open) dialog.close();
      resolve(ok);
    };
    const onSubmit = (ev: Event) => {
      ev.preventDefault();
      const passphrase = field('lock-passphrase').value;
      field('lock-passphrase').value = '';
      const ks = state.keystore;
      if (ks === null) {
        finish(false);
        return;
      }
      ks.unlock({ passphrase }).then(
        () => {
          finish(true);
        },
        (e: unknown) => {
          err.textContent = `${codeOf(e) ?? 'WEB_INTERNAL'}: ${
            codeOf(e) === 'KEYSTORE_WRONG_PASSPHRASE' ? 'wrong passphrase' : 'could not unlock'
          }`;
          err.dataset.code = codeOf(e) ?? 'WEB_INTERNAL';
          err.hidden = false;
          field('lock-passphrase').focus();
        },
      );
    };
    const onSignOut = () => {
      finish(false);
      // Not through `action`: the action that met the lock may still be running.
      void signOut().catch(showError);
    };
    // Escape does not dismiss it: the page stays locked until unlocked or signed out.
    const onCancel = (ev: Event) => {
      ev.preventDefault();
    };
    form.addEventListener('submit', onSubmit);
    byId('lock-signout').addEventListener('click', onSignOut);
    dialog.addEventListener('cancel', onCancel);
  });
  return state.locked;
}

function isLockedError(e: unknown): boolean {
  if (codeOf(e) === 'KEYSTORE_LOCKED') return true;
  const details = (e as { details?: { keystoreCode?: unknown } } | null)?.details;
  return details?.keystoreCode === 'KEYSTORE_LOCKED';
}

// ------------------------------------------------------------------ wiring

function confirmDialog(text: string, ok: string): Promise<boolean> {
  const dialog = byId('confirm-dialog') as HTMLDialogElement;
  byId('confirm-text').textContent = text;
  byId('confirm-ok').textContent = ok;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        resolve(dialog.returnValue === 'ok');
      },
      { once: true },
    );
  });
}

const hooks: AdminHooks = {
  session: currentSession,
  refresh: refreshWorkspace,
  showPaperKey,
  confirm: confirmDialog,
  async becomeDevice(device: AccountDevice) {
    const ks = state.keystore;
    const old = currentSession();
    if (ks === null) throw new WebError('WEB_NOT_SIGNED_IN', 'sign in first');
    const config: AccountConfig = { ...old.config, device, oneshot: false };
    const session = await WebSession.resume(sessionEnv(ks), config);
    state.session = session;
    if (state.mode === 'indexeddb') rememberAccount(localStorage, config);
    await refreshWorkspace();
  },
};
const teams = new TeamsView(hooks);

async function messageAction(op: string): Promise<void> {
  const session = currentSession();
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

function wire(): void {
  const submit = (id: string, label: string, fn: () => Promise<void>) => {
    byId(id).addEventListener('submit', (ev) => {
      ev.preventDefault();
      void action(label, fn);
    });
  };
  submit('signin-form', 'signing in', signIn);
  submit('signup-form', 'creating the account', signUp);
  byId('unlock-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const config = readRememberedAccount(localStorage);
    if (config) void action('unlocking', () => unlock(config));
  });
  byId('to-signup').addEventListener('click', () => {
    clearError();
    showStartScreen('signup');
    field('signup-username').focus();
  });
  byId('to-signin').addEventListener('click', () => {
    clearError();
    showStartScreen('signin');
    field('signin-username').focus();
  });
  byId('forget').addEventListener('click', () => {
    void action('forgetting this browser', signOut);
  });
  byId('signout').addEventListener('click', () => {
    void action('signing out', signOut);
  });
  byId('lock').addEventListener('click', () => {
    const ks = state.keystore;
    if (ks) void ks.lock().then(() => askUnlock());
  });
  byId('refresh').addEventListener('click', () => {
    void action('refreshing', refreshWorkspace);
  });
  byId('menu').addEventListener('click', () => {
    const sidebar = byId('sidebar');
    const open = sidebar.dataset.open !== 'true';
    sidebar.dataset.open = String(open);
    byId('menu').setAttribute('aria-expanded', String(open));
  });
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('.nav[data-view]'))) {
    b.addEventListener('click', () => {
      const view = b.dataset.view as 'teams' | 'account' | 'messages';
      if (view === 'teams') {
        void action('loading the team', async () => {
          await teams.show(null);
          showView('teams-view');
        });
      } else showView(view);
    });
  }
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('button[data-msg]'))) {
    b.addEventListener('click', () => {
      const op = b.dataset.msg ?? '';
      void action(op, () => messageAction(op));
    });
  }
  wireAccount(hooks);
  // An action that met the idle lock asks for the passphrase in place, then runs again.
  setRetryInterceptor(async (e) => (isLockedError(e) && state.keystore ? askUnlock() : false));
}

async function start(): Promise<void> {
  wire();
  state.backend = await defaultBackend();
  performance.mark('saltbox:ready');
  showStart();
  document.body.dataset.ready = 'true';
  setStatus('');
}

void start().catch(showError);

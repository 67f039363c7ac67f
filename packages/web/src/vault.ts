/**
 * The vault view: one team's key-value store as a password manager shows it — namespaces, the
 * entries of one (searchable), and an entry's detail with its value hidden until revealed,
 * copy (cleared from the clipboard after a timeout), edit at the shown revision, delete with
 * confirmation, and a password generator. Every read and write goes through the session's
 * `KvClient` (values sealed and opened in the keystore Worker, reads verified), so the CLI and
 * the page read each other's entries.
 *
 * A write names the revision it replaces (`put(…, { revision: shown + 1 })`): if someone else
 * wrote meanwhile, the server (or the rollback cache) refuses it with
 * `CLIENT_KV_WRONG_REVISION` and the page says so, offering to load their version or to save
 * over it knowingly — never a silent overwrite.
 *
 * @packageDocumentation
 */
import type { KvValue, VerifiedTeam } from '@saltbox/client/browser';
import { copySecret, clearCopied } from './clipboard.js';
import { WebError } from './errors.js';
import { generatePassword } from './password.js';
import type { CharacterSet } from './password.js';
import type { WebSession } from './session.js';
import { action, byId, codeOf, el, field, setStatus, showError } from './ui.js';

/** Tunables (the tests shorten the clipboard timeout through the page's query string). */
export interface VaultOptions {
  clipboardClearMs: number;
}

interface Entry {
  entryKey: string;
  revision: number;
}

interface Editing {
  /** The revision the edit replaces (0 for a new entry). */
  base: number;
  isNew: boolean;
}

const MASK = '••••••••••••';

/** One team's store in the page. */
export class VaultView {
  readonly #options: VaultOptions;
  #session: WebSession | null = null;
  #team: VerifiedTeam | null = null;
  #teamName: string | null = null;
  #namespace: string | null = null;
  #entries: Entry[] = [];
  /** Hidden (`__`) entries opened by name in this namespace. */
  #hidden: Entry[] = [];
  #current: KvValue | null = null;
  #revealed = false;
  #editing: Editing | null = null;

  constructor(options: VaultOptions) {
    this.#options = options;
    byId('entry-search').addEventListener('input', () => {
      this.#renderEntries();
    });
    byId('new-entry').addEventListener('click', () => {
      this.#startEdit(true);
    });
    byId('reveal').addEventListener('click', () => {
      this.#revealed = !this.#revealed;
      this.#renderValue();
    });
    byId('copy').addEventListener('click', () => {
      void action('copying', () => this.#copy());
    });
    byId('edit').addEventListener('click', () => {
      this.#startEdit(false);
    });
    byId('delete').addEventListener('click', () => {
      void this.#confirmDelete();
    });
    byId('cancel-edit').addEventListener('click', () => {
      this.#stopEdit();
    });
    byId('generate').addEventListener('click', () => {
      try {
        this.#generate();
      } catch (e) {
        showError(e);
      }
    });
    byId('entry-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      void action(
        'saving',
        () => this.#save(),
        (e) => this.#conflict(e),
      );
    });
    byId('conflict-reload').addEventListener('click', () => {
      void action('loading their version', async () => {
        const c = this.#current;
        this.#stopEdit();
        if (c) await this.openEntry(c.namespace, c.entryKey);
        await this.#reloadEntries();
      });
    });
    byId('conflict-keep').addEventListener('click', () => {
      const latest = Number(byId('conflict').dataset.latest);
      if (this.#editing && Number.isSafeInteger(latest)) {
        this.#editing.base = latest;
        byId('conflict').hidden = true;
        this.#renderFormRevision();
        field('entry-value-input').focus();
      }
    });
    byId('hidden-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const name = field('hidden-name').value.trim();
      void action('opening', async () => {
        if (!name.startsWith('__'))
          throw new WebError('WEB_INVALID_INPUT', 'hidden entry names start with __');
        const ns = this.#namespace ?? field('entry-namespace').value.trim();
        if (ns === '') throw new WebError('WEB_INVALID_INPUT', 'choose a namespace first');
        await this.openEntry(ns, name);
        const v = this.#current;
        if (v && !this.#hidden.some((h) => h.entryKey === name))
          this.#hidden.push({ entryKey: name, revision: v.revision });
        this.#renderEntries();
      });
    });
  }

  /** The name of the team shown (as the sidebar names it: `alice,alice`, `acme`), or null. */
  get teamName(): string | null {
    return this.#teamName;
  }

  /** Opens a team's store: verifies the team, lists its namespaces, opens the first. */
  async openTeam(session: WebSession, name: string): Promise<void> {
    this.#session = session;
    const team = await session.team(name);
    this.clear();
    this.#team = team;
    this.#teamName = name;
    const me = team.members.find((m) => m.uid === session.config.uid);
    // An implicit team (your own store, `alice,alice`) is named by its members.
    const implicit = name.includes(',');
    byId('vault-title').textContent = implicit ? 'Personal' : team.name;
    byId('vault-role').textContent = implicit
      ? `${name} · only you`
      : `${me?.role ?? 'member'} · ${team.members.length} member(s)`;
    await this.#reloadNamespaces(null);
  }

  /** Forgets everything shown (sign-out, lock, another team). */
  clear(): void {
    this.#team = null;
    this.#teamName = null;
    this.#namespace = null;
    this.#entries = [];
    this.#hidden = [];
    this.#current = null;
    this.#revealed = false;
    this.#editing = null;
    byId('ns-list').replaceChildren();
    byId('entry-list').replaceChildren();
    field('entry-search').value = '';
    field('entry-value-input').value = '';
    byId('entry-value').textContent = '';
    byId('entry-form').hidden = true;
    byId('entry-view').hidden = true;
    byId('detail-empty').hidden = false;
    byId('conflict').hidden = true;
  }

  /** Hides the revealed value and forgets it (the lock does this). */
  forgetValue(): void {
    this.#revealed = false;
    if (this.#current) this.#current = { ...this.#current, value: null, bytes: null };
    byId('entry-view').hidden = true;
    byId('detail-empty').hidden = false;
    byId('entry-value').textContent = '';
  }

  #need(): { session: WebSession; team: VerifiedTeam } {
    if (this.#session === null || this.#team === null)
      throw new WebError('WEB_NOT_SIGNED_IN', 'open a team first');
    return { session: this.#session, team: this.#team };
  }

  async #reloadNamespaces(select: string | null): Promise<void> {
    const { session, team } = this.#need();
    const names = await session.kv.listAllNamespaces(team.id);
    const list = byId('ns-list');
    list.replaceChildren(
      ...names.map((ns) => {
        const b = el('button', { type: 'button', 'data-namespace': ns }, ns);
        b.addEventListener('click', () => {
          void action('listing entries', () => this.openNamespace(ns));
        });
        return el('li', {}, b);
      }),
    );
    byId('ns-empty').hidden = names.length > 0;
    const pick = select ?? this.#namespace ?? names[0] ?? null;
    if (pick !== null) await this.openNamespace(pick);
    else this.#renderEntries();
  }

  /** Lists a namespace's entries. */
  async openNamespace(namespace: string): Promise<void> {
    this.#namespace = namespace;
    if (this.#hidden.length > 0 && this.#current?.namespace !== namespace) this.#hidden = [];
    for (const b of Array.from(byId('ns-list').querySelectorAll('button')))
      b.setAttribute('aria-current', String(b.dataset.namespace === namespace));
    await this.#reloadEntries();
  }

  async #reloadEntries(): Promise<void> {
    const { session, team } = this.#need();
    const ns = this.#namespace;
    this.#entries = ns === null ? [] : await session.kv.listAllEntryKeys(team.id, ns);
    this.#renderEntries();
  }

  /** Renders the entry list, filtered by the search field (no server call). */
  #renderEntries(): void {
    const q = field('entry-search').value.trim().toLowerCase();
    const all = [...this.#entries, ...this.#hidden];
    const shown = all.filter((e) => e.entryKey.toLowerCase().includes(q));
    byId('entry-list').replaceChildren(
      ...shown.map((e) => {
        const b = el(
          'button',
          { type: 'button', 'data-entry': e.entryKey },
          el('span', {}, e.entryKey),
          el('span', { class: 'meta' }, `rev ${e.revision}`),
        );
        b.setAttribute(
          'aria-current',
          String(this.#current?.entryKey === e.entryKey && !this.#editing?.isNew),
        );
        b.addEventListener('click', () => {
          const ns = this.#namespace;
          if (ns !== null) void action('opening', () => this.openEntry(ns, e.entryKey));
        });
        return el('li', {}, b);
      }),
    );
    const empty = byId('entries-empty');
    empty.hidden = shown.length > 0;
    empty.textContent =
      this.#namespace === null
        ? 'No namespace yet: make a new entry.'
        : all.length === 0
          ? 'No entries in this namespace.'
          : 'No entry matches the search.';
  }

  /** Reads, verifies and shows one entry (its value masked until revealed). */
  async openEntry(namespace: string, entryKey: string): Promise<void> {
    const { session, team } = this.#need();
    const v = await session.kv.get(team.id, namespace, entryKey);
    this.#stopEdit();
    this.#current = v;
    this.#revealed = false;
    byId('detail-empty').hidden = true;
    const view = byId('entry-view');
    view.hidden = false;
    view.dataset.revision = String(v.revision);
    byId('entry-path').textContent = `${this.#teamName ?? team.name} / ${namespace} / ${entryKey}`;
    byId('entry-revision').textContent =
      v.value === null
        ? v.revision === 0
          ? 'never written'
          : `${v.revision} (deleted)`
        : `${v.revision} · team key generation ${v.teamKeyGen}`;
    const writer = v.writer
      ? (team.members.find((m) => m.uid === v.writer?.uid)?.username ?? v.writer.uid)
      : '—';
    byId('entry-writer').textContent = writer;
    this.#renderValue();
    this.#renderEntries();
  }

  #renderValue(): void {
    const v = this.#current;
    const pre = byId('entry-value');
    const reveal = byId('reveal');
    const has = v?.value !== null && v?.value !== undefined;
    for (const id of ['reveal', 'copy', 'delete']) (byId(id) as HTMLButtonElement).hidden = !has;
    byId('edit').textContent = has ? 'Edit' : 'Write a value';
    if (!has) {
      pre.textContent = '(no value)';
      pre.dataset.hidden = 'false';
      return;
    }
    pre.textContent = this.#revealed ? v.value : MASK;
    pre.dataset.hidden = String(!this.#revealed);
    reveal.textContent = this.#revealed ? 'Hide' : 'Reveal';
    reveal.setAttribute('aria-pressed', String(this.#revealed));
  }

  async #copy(): Promise<void> {
    const v = this.#current?.value;
    if (v === null || v === undefined) throw new WebError('WEB_INVALID_INPUT', 'nothing to copy');
    await copySecret(v, this.#options.clipboardClearMs);
    const seconds = Math.round(this.#options.clipboardClearMs / 1000);
    byId('copy-note').textContent = `Copied. The clipboard is cleared in ${seconds} s.`;
    setTimeout(() => {
      byId('copy-note').textContent = '';
    }, this.#options.clipboardClearMs);
  }

  #startEdit(isNew: boolean): void {
    if (this.#team === null) return;
    const c = this.#current;
    const form = byId('entry-form');
    byId('conflict').hidden = true;
    if (isNew || c === null) {
      this.#editing = { base: 0, isNew: true };
      field('entry-namespace').value = this.#namespace ?? '';
      field('entry-key').value = '';
      field('entry-value-input').value = '';
      field('entry-namespace').readOnly = false;
      field('entry-key').readOnly = false;
    } else {
      this.#editing = { base: c.revision, isNew: false };
      field('entry-namespace').value = c.namespace;
      field('entry-key').value = c.entryKey;
      field('entry-value-input').value = c.value ?? '';
      field('entry-namespace').readOnly = true;
      field('entry-key').readOnly = true;
    }
    byId('entry-view').hidden = true;
    byId('detail-empty').hidden = true;
    form.hidden = false;
    this.#renderFormRevision();
    field(isNew || c === null ? 'entry-namespace' : 'entry-value-input').focus();
  }

  #renderFormRevision(): void {
    const e = this.#editing;
    if (!e) return;
    byId('entry-form').dataset.base = String(e.base);
    byId('entry-form-revision').textContent =
      e.base === 0
        ? 'New entry: saved as revision 1.'
        : `Editing revision ${e.base}: saved as revision ${e.base + 1}.`;
  }

  #stopEdit(): void {
    this.#editing = null;
    byId('entry-form').hidden = true;
    byId('conflict').hidden = true;
    field('entry-value-input').value = '';
    if (this.#current) byId('entry-view').hidden = false;
    else byId('detail-empty').hidden = false;
  }

  #generate(): void {
    const sets = Array.from(
      document.querySelectorAll<HTMLInputElement>('.generator input[data-set]'),
    )
      .filter((c) => c.checked)
      .map((c) => c.dataset.set as CharacterSet);
    field('entry-value-input').value = generatePassword({
      length: Number(field('gen-length').value),
      sets,
    });
    setStatus('generated a password');
  }

  async #save(): Promise<void> {
    const { session, team } = this.#need();
    const e = this.#editing;
    if (!e) return;
    const namespace = field('entry-namespace').value.trim();
    const entryKey = field('entry-key').value.trim();
    if (namespace === '' || entryKey === '')
      throw new WebError('WEB_INVALID_INPUT', 'enter a namespace and an entry name');
    const value = field('entry-value-input').value;
    await session.kv.put(team.id, namespace, entryKey, value, { revision: e.base + 1 });
    this.#stopEdit();
    const known = this.#namespace;
    this.#namespace = namespace;
    if (known !== namespace) await this.#reloadNamespaces(namespace);
    else await this.#reloadEntries();
    await this.openEntry(namespace, entryKey);
  }

  /** A refused write at a stale revision: says what happened and offers the two ways on. */
  #conflict(e: unknown): boolean {
    if (codeOf(e) !== 'CLIENT_KV_WRONG_REVISION' || !this.#editing) return false;
    const { session, team } = this.#need();
    const namespace = field('entry-namespace').value.trim();
    const entryKey = field('entry-key').value.trim();
    void session.kv.get(team.id, namespace, entryKey).then(
      (latest) => {
        const who = latest.writer
          ? (team.members.find((m) => m.uid === latest.writer?.uid)?.username ?? 'someone')
          : 'someone';
        const box = byId('conflict');
        box.dataset.latest = String(latest.revision);
        byId('conflict-text').textContent =
          `Not saved: ${who} ${latest.value === null ? 'deleted' : 'saved'} revision ${latest.revision} of this entry while you were editing revision ${this.#editing?.base ?? 0}. Load their version, or keep your text and save it as revision ${latest.revision + 1}.`;
        this.#current = latest;
        box.hidden = false;
        (byId('conflict-reload') as HTMLButtonElement).focus();
      },
      () => {
        byId('conflict-text').textContent =
          'Not saved: this entry changed while you were editing it. Load their version.';
        byId('conflict').hidden = false;
      },
    );
    return true;
  }

  async #confirmDelete(): Promise<void> {
    const c = this.#current;
    if (c?.value === null || c?.value === undefined) return;
    const dialog = byId('confirm-dialog') as HTMLDialogElement;
    byId('confirm-text').textContent =
      `Delete ${c.namespace} / ${c.entryKey} (revision ${c.revision})? Everyone in the team loses it.`;
    dialog.returnValue = '';
    dialog.showModal();
    await new Promise<void>((resolve) => {
      dialog.addEventListener(
        'close',
        () => {
          resolve();
        },
        { once: true },
      );
    });
    if (dialog.returnValue !== 'ok') return;
    await action('deleting', async () => {
      const { session, team } = this.#need();
      await session.kv.del(team.id, c.namespace, c.entryKey, { revision: c.revision + 1 });
      await clearCopied();
      this.#current = null;
      byId('entry-view').hidden = true;
      byId('detail-empty').hidden = false;
      await this.#reloadNamespaces(null);
    });
  }
}

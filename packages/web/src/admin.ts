/**
 * The account and team views: the user, devices (revoke, make this browser a device, new paper
 * key) and teams (create teams and subteams, add and remove members, change roles). All through
 * the session's `Account` and `TeamManager` with the keystore in the Worker — the same calls
 * and the same coded errors as `saltbox device …` and `saltbox team …`.
 *
 * @packageDocumentation
 */
import type { AccountDevice, DeviceView, VerifiedTeam } from '@saltbox/client/browser';
import type { TeamRoleName } from '@saltbox/protocol';
import { WebError } from './errors.js';
import type { Overview, WebSession } from './session.js';
import { action, byId, el, field } from './ui.js';

const ROLES: readonly TeamRoleName[] = ['reader', 'writer', 'admin', 'owner'];

/** What the views need from the page. */
export interface AdminHooks {
  session: () => WebSession;
  /** Re-renders the sidebar and account after a change (teams, devices). */
  refresh: () => Promise<void>;
  /** Shows a new paper key once; the workspace returns when the user proved they wrote it down. */
  showPaperKey: (phrase: string) => void;
  /** Switches the session to a device just added in this browser's keystore. */
  becomeDevice: (device: AccountDevice) => Promise<void>;
  /** Asks the user to confirm a destructive step. */
  confirm: (text: string, ok: string) => Promise<boolean>;
}

/** Renders the account view from an overview. */
export function renderAccount(o: Overview, hooks: AdminHooks): void {
  byId('account-username').textContent = o.user.username;
  byId('account-uid').textContent = o.user.uid;
  byId('account-fingerprint').textContent = o.fingerprint;
  const current = o.devices.find((d) => d.current);
  byId('account-device').textContent = current
    ? `${current.name ?? current.id} (${current.type ?? 'device'})`
    : '';
  // Only a paper-key session has a reason to make this browser a device of its own.
  byId('device-add-form').hidden = current?.type !== 'backup';
  const tbody = (byId('devices') as HTMLTableElement).tBodies[0]!;
  tbody.replaceChildren(...o.devices.map((d) => deviceRow(d, hooks)));
  byId('teams').replaceChildren(
    ...(o.teams.length === 0
      ? [el('li', {}, 'no teams yet')]
      : o.teams.map((t) => el('li', {}, `${t.name} (${t.role}${t.implicit ? ', implicit' : ''})`))),
  );
}

function deviceRow(d: DeviceView, hooks: AdminHooks): HTMLTableRowElement {
  const actions = el('td');
  if (d.status === 'active' && !d.current) {
    const label = d.name ?? d.id;
    const b = el(
      'button',
      { type: 'button', class: 'danger small', 'data-revoke': label },
      'Revoke',
    );
    b.setAttribute('aria-label', `Revoke ${label}`);
    b.addEventListener('click', () => {
      void (async () => {
        const ok = await hooks.confirm(
          `Revoke ${label}? It can no longer read or write, and your per-user key is rotated.`,
          'Revoke',
        );
        if (!ok) return;
        await action('revoking', async () => {
          await hooks.session().account.revokeDevice(d.id);
          await hooks.refresh();
        });
      })();
    });
    actions.append(b);
  }
  return el(
    'tr',
    { 'data-device': d.name ?? d.id },
    el('td', {}, `${d.name ?? '(unnamed)'}${d.current ? ' (this one)' : ''}`),
    el('td', {}, d.type ?? ''),
    el('td', {}, d.status),
    el('td', { class: 'mono' }, d.id),
    actions,
  );
}

/** Wires the account view's forms. */
export function wireAccount(hooks: AdminHooks): void {
  byId('device-add-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = field('device-add-name').value;
    void action('adding a device', async () => {
      const device = await hooks.session().account.addDevice({ name, type: 'desktop' });
      field('device-add-name').value = '';
      await hooks.becomeDevice(device);
    });
  });
  byId('add-paperkey').addEventListener('click', () => {
    void action('making a paper key', async () => {
      const key = await hooks.session().account.addPaperKey();
      await hooks.refresh();
      hooks.showPaperKey(key.phrase);
    });
  });
}

/** The teams view: a picker, the chosen team's members and the forms. */
export class TeamsView {
  readonly #hooks: AdminHooks;
  #team: VerifiedTeam | null = null;

  constructor(hooks: AdminHooks) {
    this.#hooks = hooks;
    byId('team-pick').addEventListener('change', () => {
      const name = (byId('team-pick') as HTMLSelectElement).value;
      void action('loading the team', () => this.show(name));
    });
    byId('team-create-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const name = field('team-create-name').value.trim().toLowerCase();
      void action('creating the team', async () => {
        if (name === '') throw new WebError('WEB_INVALID_INPUT', 'enter a team name');
        const m = this.#hooks.session().manager;
        const dot = name.lastIndexOf('.');
        const team =
          dot < 0
            ? await m.createTeam(name)
            : await m.createSubteam(name.slice(0, dot), name.slice(dot + 1));
        field('team-create-name').value = '';
        await this.#hooks.refresh();
        await this.show(team.name);
      });
    });
    byId('member-add-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const user = field('member-add-name').value.trim().toLowerCase();
      const role = (byId('member-add-role') as HTMLSelectElement).value as TeamRoleName;
      void action('adding the member', async () => {
        const t = this.#need();
        if (user === '') throw new WebError('WEB_INVALID_INPUT', 'enter a username');
        this.#render(await this.#hooks.session().manager.addMember(t.name, user, role));
        field('member-add-name').value = '';
      });
    });
  }

  #need(): VerifiedTeam {
    if (this.#team === null) throw new WebError('WEB_INVALID_INPUT', 'choose a team');
    return this.#team;
  }

  /** Fills the team picker (named teams only: implicit teams have no admin). */
  setTeams(names: string[]): void {
    const pick = byId('team-pick') as HTMLSelectElement;
    const keep = pick.value;
    pick.replaceChildren(...names.map((n) => el('option', { value: n }, n)));
    if (names.includes(keep)) pick.value = keep;
  }

  /** Loads and shows a team's verified members. */
  async show(name: string | null): Promise<void> {
    const pick = byId('team-pick') as HTMLSelectElement;
    const n = name ?? pick.value;
    if (n === '') {
      this.#team = null;
      (byId('members') as HTMLTableElement).tBodies[0]!.replaceChildren();
      byId('members-caption').textContent = 'No teams yet: create one above.';
      return;
    }
    pick.value = n;
    this.#render(await this.#hooks.session().teams.load(n, { refresh: true }));
  }

  #render(team: VerifiedTeam): void {
    this.#team = team;
    const session = this.#hooks.session();
    byId('members-caption').textContent = `Members of ${team.name}`;
    const tbody = (byId('members') as HTMLTableElement).tBodies[0]!;
    tbody.replaceChildren(
      ...team.members.map((m) => {
        const select = el('select', { 'aria-label': `Role of ${m.username}` });
        select.append(...ROLES.map((r) => el('option', { value: r }, r)));
        select.value = m.role;
        select.addEventListener('change', () => {
          const role = select.value as TeamRoleName;
          void action('changing the role', async () => {
            this.#render(await session.manager.changeRole(team.name, m.username, role));
          });
        });
        const remove = el(
          'button',
          { type: 'button', class: 'danger small', 'aria-label': `Remove ${m.username}` },
          'Remove',
        );
        remove.addEventListener('click', () => {
          void (async () => {
            if (
              !(await this.#hooks.confirm(
                `Remove ${m.username} from ${team.name}? The team key is rotated.`,
                'Remove',
              ))
            )
              return;
            await action('removing the member', async () => {
              this.#render(await session.manager.removeMember(team.name, m.username));
            });
          })();
        });
        const self = m.uid === session.config.uid;
        return el(
          'tr',
          { 'data-member': m.username },
          el('td', {}, self ? `${m.username} (you)` : m.username),
          el('td', {}, select),
          el('td', {}, self ? '' : remove),
        );
      }),
    );
  }
}

/**
 * The team commands: `saltbox team create|list|show|add|remove|role|rotate|leave|delete`, over
 * `@saltbox/client`'s `TeamManager` (links signed and seeds boxed inside the keystore, every
 * decision made on the verified team chain). Output is human text, or one JSON object with
 * `--json`.
 *
 * @packageDocumentation
 */
import type { Saltbox, TeamLoader, TeamManager, VerifiedTeam } from '@saltbox/client';
import type { TeamRoleName } from '@saltbox/protocol';
import type { CommandContext, Flags } from './context.js';
import { usage } from './errors.js';
import { info } from './ui.js';

const ROLES: readonly TeamRoleName[] = ['owner', 'admin', 'writer', 'reader'];

const str = (f: Flags, name: string): string | undefined => {
  const v = f[name];
  return typeof v === 'string' ? v : undefined;
};
const bool = (f: Flags, name: string): boolean => f[name] === true;

function positionals(flags: Flags, names: readonly string[]): string[] {
  const p = flags._positionals;
  const list = Array.isArray(p) ? p.filter((x): x is string => typeof x === 'string') : [];
  if (list.length < names.length) throw usage(`${names[list.length]!} is missing`);
  if (list.length > names.length)
    throw usage(`unexpected argument "${list[names.length]!.slice(0, 20)}"`);
  return list;
}

function role(text: string): TeamRoleName {
  const r = text.toLowerCase();
  if (!(ROLES as readonly string[]).includes(r))
    throw usage(`unknown role "${text.slice(0, 20)}"`, 'a role is owner, admin, writer or reader');
  return r as TeamRoleName;
}

/**
 * The session's team loader (team pins in `team-pins.json`, so the prefix rule holds across
 * commands) and manager, acting as the account's user and device: both built once by the
 * client's factory (`openSaltboxHome`).
 */
export function teamTools(session: { saltbox: Saltbox }): {
  manager: TeamManager;
  loader: TeamLoader;
} {
  return { manager: session.saltbox.manager, loader: session.saltbox.teams };
}

function teamJson(t: VerifiedTeam): object {
  const key = t.perTeamKeys[t.perTeamKeys.length - 1];
  return {
    teamId: t.id,
    name: t.name,
    implicit: t.implicit,
    parentId: t.parentId,
    members: t.members.map((m) => ({ username: m.username, role: m.role })),
    generation: key?.generation ?? null,
    encryptionKid: key?.encryptionKid ?? null,
    subteams: t.subteams.map((s) => s.name),
    seqno: t.tail.seqno,
  };
}

function printTeam(ctx: CommandContext, t: VerifiedTeam): void {
  const key = t.perTeamKeys[t.perTeamKeys.length - 1];
  const lines = [
    `${t.name}  (team id ${t.id})`,
    `key:      generation ${key?.generation ?? '-'} ${key?.encryptionKid ?? ''}`.trimEnd(),
    'members:',
    ...t.members.map((m) => `  ${m.username.padEnd(16)} ${m.role}`),
    ...(t.subteams.length > 0 ? [`subteams: ${t.subteams.map((s) => s.name).join(', ')}`] : []),
  ];
  ctx.console.stdout(`${lines.join('\n')}\n`);
}

async function manager(flags: Flags, ctx: CommandContext): Promise<TeamManager> {
  return teamTools(await ctx.session({ passphraseFile: str(flags, 'passphrase-file') })).manager;
}

/** `saltbox team create NAME` (a subteam when NAME has a dot: `acme.infra`). */
export async function teamCreateCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const [name] = positionals(flags, ['the team name']);
  const teams = await manager(flags, ctx);
  const dot = name!.lastIndexOf('.');
  const team =
    dot < 0
      ? await teams.createTeam(name!)
      : await teams.createSubteam(name!.slice(0, dot), name!.slice(dot + 1));
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify(teamJson(team))}\n`);
    return;
  }
  // Keybase makes the creator of a subteam its admin (the parent's owners are not its owners).
  info(
    ctx.console,
    `created team ${team.name}; you are its ${team.parentId === null ? 'owner' : 'admin'}`,
  );
}

/** `saltbox team list [--all]`: the caller's teams (with implicit ones under `--all`). */
export async function teamListCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const teams = await manager(flags, ctx);
  const mine = await teams.listMyTeams({ includeImplicit: bool(flags, 'all') });
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify({ teams: mine })}\n`);
    return;
  }
  for (const t of mine) ctx.console.stdout(`${t.name.padEnd(24)} ${t.role}\n`);
}

/** `saltbox team show NAME`: verified members, roles and the current key. */
export async function teamShowCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const [name] = positionals(flags, ['the team name']);
  const session = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const team = await teamTools(session).loader.load(name!);
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify(teamJson(team))}\n`);
    return;
  }
  printTeam(ctx, team);
}

/** `saltbox team add NAME USER [--role ROLE]` (default writer). */
export async function teamAddCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const [name, user] = positionals(flags, ['the team name', 'the username']);
  const r = role(str(flags, 'role') ?? 'writer');
  const team = await (await manager(flags, ctx)).addMember(name!, user!, r);
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify(teamJson(team))}\n`);
    return;
  }
  info(ctx.console, `added ${user!.toLowerCase()} to ${team.name} as ${r}`);
}

/** `saltbox team remove NAME USER`: removes and rotates the team key (yourself: a leave). */
export async function teamRemoveCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const [name, user] = positionals(flags, ['the team name', 'the username']);
  const session = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const { account } = session;
  const teams = teamTools(session).manager;
  // Removing yourself is leaving: afterwards you cannot read the team to show it.
  if (user!.toLowerCase() === account.config.username.toLowerCase()) {
    await leave(flags, ctx, teams, name!);
    return;
  }
  const team = await teams.removeMember(name!, user!);
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify(teamJson(team))}\n`);
    return;
  }
  const gen = team.perTeamKeys[team.perTeamKeys.length - 1]?.generation;
  info(
    ctx.console,
    `removed ${user!.toLowerCase()} from ${team.name}; new team key generation ${gen ?? '?'}`,
  );
}

/** `saltbox team role NAME USER ROLE`. */
export async function teamRoleCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const [name, user, roleText] = positionals(flags, ['the team name', 'the username', 'the role']);
  const r = role(roleText!);
  const team = await (await manager(flags, ctx)).changeRole(name!, user!, r);
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify(teamJson(team))}\n`);
    return;
  }
  info(ctx.console, `${user!.toLowerCase()} is now ${r} of ${team.name}`);
}

/** `saltbox team rotate NAME`: a new team key generation for the current members. */
export async function teamRotateCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const [name] = positionals(flags, ['the team name']);
  const team = await (await manager(flags, ctx)).rotate(name!);
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify(teamJson(team))}\n`);
    return;
  }
  const gen = team.perTeamKeys[team.perTeamKeys.length - 1]?.generation;
  info(ctx.console, `rotated the key of ${team.name}; generation ${gen ?? '?'}`);
}

async function leave(
  flags: Flags,
  ctx: CommandContext,
  teams: TeamManager,
  name: string,
): Promise<void> {
  const left = await teams.leaveTeam(name);
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify({ teamId: left.teamId, name: left.name, left: true })}\n`);
    return;
  }
  info(ctx.console, `left team ${left.name}`);
}

/** `saltbox team leave NAME`: a `team.leave` link; the remaining admins rotate later. */
export async function teamLeaveCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const [name] = positionals(flags, ['the team name']);
  await leave(flags, ctx, await manager(flags, ctx), name!);
}

/** `saltbox team delete NAME --yes`: erases the team, its keys and its KV data. */
export async function teamDeleteCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const [name] = positionals(flags, ['the team name']);
  if (!bool(flags, 'yes'))
    throw usage(
      `deleting team ${name!.slice(0, 40)} erases its kv data for every member`,
      `run 'saltbox team delete ${name!.slice(0, 40)} --yes' to confirm`,
    );
  const deleted = await (await manager(flags, ctx)).deleteTeam(name!);
  if (bool(flags, 'json')) {
    ctx.console.stdout(`${JSON.stringify({ ...deleted, deleted: true })}\n`);
    return;
  }
  info(
    ctx.console,
    `deleted team ${deleted.name} and its ${deleted.kvEntriesDeleted} kv entries; the name stays reserved`,
  );
}

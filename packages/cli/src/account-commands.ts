/**
 * The account commands: `saltbox signup`, `login`, `logout`, `device list|add|revoke`,
 * `whoami`, `status`, `id`, `follow`. `@saltbox/client` does the work (links built through the
 * keystore, verified chains, PUK boxes); these functions choose the keystore, read the paper
 * key, keep `$SALTBOX_HOME/config.json`, and print — human text, or one JSON object with
 * `--json`. Nothing secret is ever printed, except the paper key phrase, once, when it is made.
 *
 * @packageDocumentation
 */
import {
  ApiClient,
  HOME_FILES,
  formatFingerprint,
  loginWithPaperKey,
  readAccountConfig,
  removeAccountConfig,
  signup as clientSignup,
  userFingerprint,
  writeAccountConfig,
} from '@saltbox/client';
import type { AccountConfig, DeviceView, NewPaperKey, TeamRotationReport } from '@saltbox/client';
import { isIdentityError, parsePaperKeyPhrase } from '@saltbox/identity';
import { inProcessClient } from '@saltbox/keystore';
import { fileFollowStore } from '@saltbox/provider';
import { openFileKeystore } from '@saltbox/keystore/node';
import { defaultBackend } from '@saltbox/saltpack';
import type { CommandContext, Flags } from './context.js';
import { CliError, usage } from './errors.js';
import { defaultDeviceName, keystorePaths, tryConnectAgent } from './keystore-access.js';
import { askSecretLine } from './passphrase.js';
import { accountEnv, home, homePath, openAccountKeystore, serverUrl } from './session.js';
import type { Session } from './session.js';
import { displayText, info } from './ui.js';

/** The environment variable a paper key may come from (so it stays out of argv). */
export const PAPERKEY_ENV = 'SALTBOX_PAPERKEY';
/** A paper key is 13 short words; anything much longer is a wrong input. */
const PAPERKEY_LIMIT = 4096;

const str = (f: Flags, name: string): string | undefined => {
  const v = f[name];
  return typeof v === 'string' ? v : undefined;
};
const bool = (f: Flags, name: string): boolean => f[name] === true;

function printJson(ctx: CommandContext, value: unknown): void {
  ctx.console.stdout(`${JSON.stringify(value)}\n`);
}

/** The one positional argument of a command (`parseArgs` with `allowPositionals`). */
function onePositional(flags: Flags, what: string): string {
  const p = flags._positionals;
  const list = Array.isArray(p) ? p.filter((x): x is string => typeof x === 'string') : [];
  if (list.length === 0) throw usage(`${what} is missing`);
  if (list.length > 1) throw usage(`unexpected argument "${list[1]!.slice(0, 20)}"`);
  return list[0]!;
}

function deviceJson(d: AccountConfig['device']): object {
  return {
    id: d.id,
    name: d.name,
    type: d.type,
    signingKid: d.signingKid,
    encryptionKid: d.encryptionKid,
  };
}

async function refuseIfLoggedIn(username?: string): Promise<void> {
  const existing = await readAccountConfig(home());
  if (existing === undefined) return;
  // Logging in again as the same user is allowed for a oneshot paper key (its agent stopped,
  // so its keys are gone); a device in the keystore is still logged in: say so, ask nothing.
  if (existing.username === username?.toLowerCase() && existing.oneshot) return;
  throw new CliError(
    'CLI_ALREADY_LOGGED_IN',
    existing.username === username?.toLowerCase()
      ? `already logged in as ${existing.username} with device "${existing.device.name}"`
      : `this home already acts as ${existing.username} (${homePath(HOME_FILES.config)})`,
  );
}

/**
 * Checks the paper key's form before anything else is done with it, so a mistyped word is the
 * user's error with a hint, not a keystore argument error (spec keybase-identity §5.1).
 *
 * @throws CliError `CLI_BAD_PAPER_KEY` (the message counts words, never repeats them).
 */
async function checkPaperKey(phrase: string): Promise<void> {
  try {
    parsePaperKeyPhrase(await defaultBackend(), phrase);
  } catch (e) {
    if (!isIdentityError(e)) throw e;
    throw new CliError('CLI_BAD_PAPER_KEY', `not a paper key: ${e.message}`, { cause: e });
  }
}

function printPaperKey(ctx: CommandContext, paper: NewPaperKey): void {
  ctx.console.stdout(`${paper.phrase}\n`);
  info(ctx.console, `above is your new paper key "${paper.name}"; it is shown only this once`);
  info(
    ctx.console,
    'write it down and keep it somewhere safe: it logs in as you and unlocks everything you can read',
  );
}

/**
 * `saltbox signup USER`: creates the account — a device in the keystore, per-user key
 * generation 1, a paper key — and writes `config.json`. Prints the paper key once.
 *
 * @throws CliError `CLI_USAGE`, `CLI_ALREADY_LOGGED_IN`; ClientError `CLIENT_HTTP`
 *   (`USERNAME_TAKEN`), `CLIENT_NETWORK`, `CLIENT_ACCOUNT_CONFLICT`, …
 */
export async function signupCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const username = onePositional(flags, 'the username');
  await refuseIfLoggedIn();
  const server = serverUrl(str(flags, 'server'));
  const ks = await openAccountKeystore({
    passphraseFile: str(flags, 'passphrase-file'),
    create: true,
  });
  try {
    const env = await accountEnv(server, ks);
    const invite = str(flags, 'invite');
    // The config is written as soon as the server holds the account: a sign-up cut off later
    // (killed, connection lost) leaves this home logged in, with only the paper key to make.
    let created: string | undefined;
    const r = await clientSignup(env, {
      username,
      deviceName: str(flags, 'device-name') ?? defaultDeviceName(),
      ...(invite === undefined ? {} : { invite }),
      onCreated: async (config) => {
        await writeAccountConfig(config, home());
        created = config.username;
      },
    }).catch((e: unknown) => {
      if (created !== undefined)
        info(
          ctx.console,
          `the account ${created} was created and this home is logged in, but its paper key was not made: run 'saltbox device add --paper'`,
        );
      throw e;
    });
    if (bool(flags, 'json')) {
      printJson(ctx, {
        username: r.config.username,
        uid: r.config.uid,
        server,
        device: deviceJson(r.config.device),
        paperKey: {
          phrase: r.paperKey.phrase,
          name: r.paperKey.name,
          deviceId: r.paperKey.deviceId,
        },
      });
      return;
    }
    printPaperKey(ctx, r.paperKey);
    info(
      ctx.console,
      `signed up as ${r.config.username} on ${server} with device "${r.config.device.name}"`,
    );
  } finally {
    await ks.close();
  }
}

/** The paper key: `--paperkey`, else `SALTBOX_PAPERKEY`, else standard input or the terminal. */
async function readPaperKey(flags: Flags): Promise<string> {
  const flag = str(flags, 'paperkey');
  if (flag !== undefined) return flag;
  const env = process.env[PAPERKEY_ENV];
  if (env !== undefined && env !== '') return env;
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > PAPERKEY_LIMIT) throw usage('the paper key on standard input is too long');
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (text !== '') return text;
  }
  const asked = await askSecretLine('paper key (13 words)');
  if (asked === undefined || asked.trim() === '')
    throw new CliError('CLI_NO_PAPER_KEY', 'a paper key is needed to log in');
  return asked;
}

/**
 * `saltbox login USER`: logs in with a paper key like `keybase oneshot`. With an agent running
 * the paper device lives only in the agent's memory; without one it is stored in the keystore
 * (the passphrase from `SALTBOX_PASSPHRASE` or `--passphrase-file` for bots and CI).
 *
 * @throws CliError `CLI_NO_PAPER_KEY`, `CLI_BAD_PAPER_KEY` (a malformed phrase),
 *   `CLI_ALREADY_LOGGED_IN` (another user, or this user with a device in the keystore);
 *   ClientError `CLIENT_PAPER_KEY_UNKNOWN`, `CLIENT_DEVICE_REVOKED`, ….
 */
export async function loginCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const username = onePositional(flags, 'the username');
  await refuseIfLoggedIn(username);
  const previous = await readAccountConfig(home());
  const phrase = await readPaperKey(flags);
  await checkPaperKey(phrase);
  const server = serverUrl(str(flags, 'server'), previous);
  const ks = await openAccountKeystore({
    passphraseFile: str(flags, 'passphrase-file'),
    create: true,
  });
  try {
    const env = await accountEnv(server, ks);
    const persist = ks.kind !== 'agent';
    const r = await loginWithPaperKey(env, { username, phrase, persist });
    await writeAccountConfig(r.config, home());
    if (bool(flags, 'json')) {
      printJson(ctx, {
        username: r.config.username,
        uid: r.config.uid,
        server,
        device: deviceJson(r.config.device),
        oneshot: r.config.oneshot,
        perUserKeyGenerations: r.generations,
      });
      return;
    }
    info(
      ctx.console,
      `logged in as ${r.config.username} on ${server} with paper key "${r.config.device.name}"`,
    );
    info(
      ctx.console,
      persist
        ? `the paper key's keys are stored in the keystore ${keystorePaths().keystoreDir}`
        : 'the paper key lives only in the agent; it is gone when the agent locks or stops',
    );
  } finally {
    await ks.close();
  }
}

/**
 * `saltbox logout`: forgets the account config. Keys stay in the (encrypted) keystore.
 *
 * @throws ClientError `CLIENT_STORE`.
 */
export async function logoutCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const config = await readAccountConfig(home());
  const removed = await removeAccountConfig(home());
  if (bool(flags, 'json')) {
    printJson(ctx, { loggedOut: removed, username: config?.username ?? null });
    return;
  }
  if (!removed) {
    info(ctx.console, 'no account was set up in this home');
    return;
  }
  info(
    ctx.console,
    `logged out ${config?.username ?? ''} (removed ${homePath(HOME_FILES.config)})`.replace(
      '  ',
      ' ',
    ),
  );
  info(
    ctx.console,
    `device keys stay in the encrypted keystore ${keystorePaths().keystoreDir}; delete it to remove them`,
  );
}

function deviceLine(d: DeviceView): string {
  const mark = d.current ? '*' : ' ';
  const name = displayText(d.name ?? '?').padEnd(20);
  return `${mark} ${name} ${(d.type ?? '?').padEnd(8)} ${d.status.padEnd(8)} ${d.id}`;
}

/**
 * `saltbox device list`: the devices of the verified chain; `*` marks this one.
 *
 * @throws CliError `CLI_NOT_LOGGED_IN`; ClientError chain and transport codes.
 */
export async function deviceListCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const { account } = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const devices = await account.devices();
  if (bool(flags, 'json')) {
    printJson(ctx, { username: account.config.username, devices });
    return;
  }
  ctx.console.stdout(`  ${'name'.padEnd(20)} ${'type'.padEnd(8)} ${'status'.padEnd(8)} id\n`);
  for (const d of devices) ctx.console.stdout(`${deviceLine(d)}\n`);
}

/**
 * `saltbox device add --name NAME` (a new device in this keystore, delegated by the current
 * one, which this home then acts as) or `saltbox device add --paper` (a new paper key, printed
 * once).
 *
 * @throws CliError `CLI_USAGE`, `CLI_NOT_LOGGED_IN`; ClientError codes.
 */
export async function deviceAddCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const paper = bool(flags, 'paper');
  const name = str(flags, 'name');
  if (paper === (name !== undefined)) throw usage('pass either --name NAME or --paper');
  const type = str(flags, 'type') ?? 'desktop';
  if (type !== 'desktop' && type !== 'mobile') throw usage('--type is desktop or mobile');
  const { account } = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  if (paper) {
    const key = await account.addPaperKey();
    if (bool(flags, 'json')) {
      printJson(ctx, { paperKey: { phrase: key.phrase, name: key.name, deviceId: key.deviceId } });
      return;
    }
    printPaperKey(ctx, key);
    return;
  }
  const device = await account.addDevice({ name: name!, type });
  const config: AccountConfig = { ...account.config, device, oneshot: false };
  await writeAccountConfig(config, home());
  if (bool(flags, 'json')) {
    printJson(ctx, { username: config.username, device: deviceJson(device) });
    return;
  }
  info(ctx.console, `added device "${device.name}" (${device.id}); this home now acts as it`);
}

/**
 * `saltbox device revoke NAME|ID`: revokes another device and rotates the per-user key, then
 * rotates the key of every team of the user whose key the revoked device held and the user may
 * rotate (writer and above; spec keybase-identity §6.4 CLKR), listing those it could not (a
 * reader's teams rotate with a writer's or admin's next write) or that failed.
 *
 * @throws CliError `CLI_USAGE`, `CLI_NOT_LOGGED_IN`; ClientError `CLIENT_DEVICE_NOT_FOUND`, ….
 */
export async function deviceRevokeCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const which = onePositional(flags, 'the device name or id');
  const session = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const { device, generation } = await session.account.revokeDevice(which);
  // The revocation stands; the team step reports its failures instead of hiding the revocation.
  const { teamTools } = await import('./team-commands.js');
  const { manager } = teamTools(session);
  let teams: TeamRotationReport | undefined;
  let listError: string | undefined;
  try {
    teams = await manager.rotateAfterRevocation();
  } catch (e) {
    if (!(e instanceof Error) || typeof (e as { code?: unknown }).code !== 'string') throw e;
    listError = e.message;
  }
  if (bool(flags, 'json')) {
    printJson(ctx, {
      revoked: device,
      perUserKeyGeneration: generation,
      teams: teams ?? { error: listError },
    });
    return;
  }
  info(
    ctx.console,
    `revoked device "${device.name ?? device.id}"; new per-user key generation ${generation}`,
  );
  info(ctx.console, 'messages encrypted to you from now on cannot be read by that device');
  if (teams === undefined) {
    info(ctx.console, `warning: could not list your teams to rotate their keys: ${listError}`);
    info(
      ctx.console,
      "hint: the revocation is done; rotate each team with 'saltbox team rotate NAME'",
    );
    return;
  }
  if (teams.rotated.length > 0)
    info(ctx.console, `rotated the team keys of ${teams.rotated.join(', ')}`);
  if (teams.cannotRotate.length > 0) {
    const names = teams.cannotRotate.map((t) => `${t.team} (${t.role})`).join(', ');
    info(
      ctx.console,
      `warning: the revoked device can still read new data of ${names} until the team key rotates`,
    );
    info(
      ctx.console,
      "hint: a writer's or admin's next write rotates it, or they run 'saltbox team rotate NAME'",
    );
  }
  for (const f of teams.failed)
    info(ctx.console, `warning: could not rotate the key of team ${f.team}: ${f.message}`);
  if (teams.failed.length > 0)
    info(
      ctx.console,
      "hint: run 'saltbox team rotate NAME' for each; a writer's next write also rotates it",
    );
}

/**
 * `saltbox whoami`: the configured user and device, confirmed by the server.
 *
 * @throws CliError `CLI_NOT_LOGGED_IN`; ClientError codes.
 */
export async function whoamiCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const { account, config } = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const me = await account.api.whoami();
  if (me.uid !== config.uid || me.kid !== config.device.signingKid)
    throw new CliError('CLI_INTERNAL', 'the server names another user or key than the config');
  if (bool(flags, 'json')) {
    printJson(ctx, {
      username: config.username,
      uid: config.uid,
      server: config.server,
      device: deviceJson(config.device),
    });
    return;
  }
  ctx.console.stdout(`${config.username}\n`);
  info(ctx.console, `device "${config.device.name}" (${config.device.type}) on ${config.server}`);
}

/**
 * `saltbox status`: server, account, device, keystore and agent — without asking for a
 * passphrase (an in-process keystore is only inspected, never unlocked).
 *
 * @throws ClientError `CLIENT_STORE` (unreadable config).
 */
export async function statusCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const config = await readAccountConfig(home());
  const server = serverUrl(str(flags, 'server'), config);
  const backend = await defaultBackend();
  let reachable = false;
  const api = new ApiClient({ baseUrl: server, backend, retry: { maxAttempts: 1 } });
  try {
    await api.health();
    reachable = true;
  } catch {
    reachable = false;
  }
  const deviceStatus = reachable && config ? await deviceStatusOf(api, config) : 'unknown';
  const paths = keystorePaths();
  const agent = await tryConnectAgent(paths.socketPath);
  let keystore: { state: string; via: 'agent' | 'in-process'; deviceHeld: boolean | null };
  let agentInfo: { running: boolean; socket: string; pid: number | null };
  if (agent) {
    try {
      const status = await agent.status();
      const st = await agent.agentStatus();
      let held: boolean | null = null;
      if (status.state === 'unlocked' && config)
        held = (await agent.getPublicKeyBundle()).devices.some(
          (d) => d.signingKid === config.device.signingKid,
        );
      keystore = { state: status.state, via: 'agent', deviceHeld: held };
      agentInfo = { running: true, socket: paths.socketPath, pid: st.pid };
    } finally {
      await agent.close();
    }
  } else {
    const local = await openFileKeystore({ keystoreDir: paths.keystoreDir, idleLockMs: null });
    try {
      const { state } = await inProcessClient(local).status();
      keystore = { state, via: 'in-process', deviceHeld: null };
    } finally {
      await local.close();
    }
    agentInfo = { running: false, socket: paths.socketPath, pid: null };
  }
  const status = {
    home: home(),
    server: { url: server, reachable },
    account: config
      ? {
          username: config.username,
          uid: config.uid,
          device: { ...deviceJson(config.device), status: deviceStatus },
          oneshot: config.oneshot,
        }
      : null,
    keystore: { path: paths.keystoreDir, ...keystore },
    agent: agentInfo,
  };
  if (bool(flags, 'json')) {
    printJson(ctx, status);
    return;
  }
  const lines = [
    `home:      ${displayText(status.home)}`,
    `server:    ${server} (${reachable ? 'reachable' : 'not reachable'})`,
    config
      ? `user:      ${config.username}`
      : `user:      none (run 'saltbox signup' or 'saltbox login')`,
    ...(config
      ? [
          `device:    ${displayText(config.device.name)} (${config.device.type}${config.oneshot ? ', paper key in the agent only' : ''})${
            deviceStatus === 'revoked' ? ', REVOKED' : ''
          }`,
        ]
      : []),
    `keystore:  ${keystore.state} (${keystore.via === 'agent' ? 'through the agent' : paths.keystoreDir})${
      keystore.deviceHeld === false ? ', does not hold the configured device' : ''
    }`,
    `agent:     ${agentInfo.running ? `running (pid ${agentInfo.pid ?? '?'})` : 'not running'}`,
  ];
  ctx.console.stdout(`${lines.join('\n')}\n`);
  if (deviceStatus === 'revoked')
    info(
      ctx.console,
      `this device was revoked; log in again with a paper key ('saltbox logout', then 'saltbox login ${config!.username} --paperkey')`,
    );
}

/**
 * Whether the configured device's signing key is still a live sibkey, by the server's public
 * directory (`/_/api/1.0/user/lookup.json`, no key needed: a revoked device can no longer sign
 * requests). The server's word only, shown as a status: it cannot make a revoked key live,
 * and every signed request is refused (`DEVICE_REVOKED`) anyway.
 */
async function deviceStatusOf(
  api: ApiClient,
  config: AccountConfig,
): Promise<'active' | 'revoked' | 'unknown'> {
  try {
    const res = await api.keybaseLookup([config.username]);
    const them = Array.isArray(res.them) ? res.them[0] : res.them;
    const live = them?.public_keys.sibkeys;
    if (live === undefined) return 'unknown';
    return live.includes(config.device.signingKid) ? 'active' : 'revoked';
  } catch {
    return 'unknown';
  }
}

/**
 * `saltbox id USER`: the user's verified keys and fingerprint, and whether it is followed.
 *
 * @throws CliError `CLI_NOT_LOGGED_IN`; ClientError `CLIENT_USER_NOT_FOUND`, chain codes.
 */
export async function idCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const username = onePositional(flags, 'the username');
  const { account } = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const backend = await defaultBackend();
  const user = await account.users.load(username, { refresh: true });
  const fingerprint = userFingerprint(backend, user);
  const follow = await fileFollowStore(home()).get(user.username);
  const followed =
    follow === undefined ? 'no' : follow.identity === user.eldestKid ? 'yes' : 'changed';
  const puk = user.perUserKeys[user.perUserKeys.length - 1];
  const devices = user.devices.map((d) => ({
    ...d,
    keys: user.keys
      .filter((k) => k.deviceId === d.id)
      .map((k) => ({ kid: k.kid, role: k.role, status: k.status })),
  }));
  if (bool(flags, 'json')) {
    printJson(ctx, {
      username: user.username,
      uid: user.uid,
      eldestKid: user.eldestKid,
      fingerprint,
      followed,
      seqno: user.tail.seqno,
      perUserKey: puk ?? null,
      devices,
    });
    return;
  }
  const out = [
    `${user.username}  (uid ${user.uid})`,
    `fingerprint: ${formatFingerprint(fingerprint)}`,
    `eldest key:  ${user.eldestKid}`,
    `per-user key: generation ${puk?.generation ?? '-'} ${puk?.encryptionKid ?? ''}`.trimEnd(),
    'devices:',
    ...devices.map(
      (d) =>
        `  ${displayText(d.name ?? '?').padEnd(20)} ${displayText(d.type ?? '?').padEnd(8)} ${d.status.padEnd(8)} ${d.keys
          .filter((k) => k.role === 'subkey')
          .map((k) => k.kid)
          .join(' ')}`,
    ),
    `followed:    ${followed}`,
  ];
  ctx.console.stdout(`${out.join('\n')}\n`);
  if (followed === 'changed')
    info(ctx.console, `the identity of ${user.username} changed since you followed it`);
}

/**
 * `saltbox follow USER`: records the user's verified identity (eldest key) in
 * `$SALTBOX_HOME/following.json`, which `verify_proofs=true` provider URLs check.
 * `saltbox follow team:NAME` records the team's ID under the label `team:NAME`, which is what
 * the provider checks for a team recipient (`@saltbox/provider`'s `teamResolver` gives the
 * verified team ID as its identity): the team chain is loaded and verified first, so a
 * deleted-and-recreated team or a forked chain is never followed.
 *
 * @throws CliError `CLI_NOT_LOGGED_IN`; ClientError codes (`CLIENT_TEAM_NOT_FOUND` for a team
 *   the caller cannot see).
 */
export async function followCommand(flags: Flags, ctx: CommandContext): Promise<void> {
  const username = onePositional(flags, 'the username');
  const session = await ctx.session({ passphraseFile: str(flags, 'passphrase-file') });
  const { account } = session;
  if (username.toLowerCase().startsWith('team:')) {
    await followTeam(flags, ctx, session, username.slice(5));
    return;
  }
  const backend = await defaultBackend();
  const user = await account.users.load(username, { refresh: true });
  // The record `verify_proofs=true` checks (`@saltbox/provider`): the eldest key verified now.
  const followedAt = Date.now();
  await fileFollowStore(home()).set(user.username, { identity: user.eldestKid, followedAt });
  const fingerprint = userFingerprint(backend, user);
  if (bool(flags, 'json')) {
    printJson(ctx, {
      username: user.username,
      uid: user.uid,
      eldestKid: user.eldestKid,
      fingerprint,
      followedAt,
    });
    return;
  }
  ctx.console.stdout(`${formatFingerprint(fingerprint)}\n`);
  info(ctx.console, `following ${user.username}; compare this fingerprint with theirs out of band`);
}

async function followTeam(
  flags: Flags,
  ctx: CommandContext,
  session: Session,
  name: string,
): Promise<void> {
  const team = await session.saltbox.teams.load(name, { refresh: true });
  const label = `team:${team.name}`;
  const followedAt = Date.now();
  await fileFollowStore(home()).set(label, { identity: team.id, followedAt });
  const members = team.members.map((m) => ({ username: m.username, role: m.role }));
  if (bool(flags, 'json')) {
    printJson(ctx, { team: team.name, teamId: team.id, members, followedAt });
    return;
  }
  ctx.console.stdout(`${team.id}\n`);
  info(
    ctx.console,
    `following ${label} (${members.length} verified member${members.length === 1 ? '' : 's'}); verify_proofs=true now accepts it`,
  );
}

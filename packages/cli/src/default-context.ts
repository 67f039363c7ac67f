/**
 * The context real commands run with (`runCli` builds one per command).
 *
 * @packageDocumentation
 */
import type { CommandContext } from './context.js';
import type { KeySource } from './key-source.js';
import { openKeySource } from './keys.js';
import { directoryResolver } from './recipients.js';
import type { Session } from './session.js';
import type { Console } from './ui.js';

/**
 * The default context: real console, the directory resolver (users through this home's
 * account), key sources of {@link openKeySource}.
 */
export function defaultContext(console: Console, command: string): CommandContext {
  const opened: KeySource[] = [];
  let session: Promise<Session> | undefined;
  const openSession = (options: { passphraseFile?: string | undefined }): Promise<Session> => {
    // Loaded on use: commands that never name a user do not pay for the client at start-up.
    session ??= import('./session.js').then((m) => m.openSession(options));
    return session;
  };
  return {
    console,
    hints: { command },
    resolver: directoryResolver(async (options) => {
      const session = await openSession(options);
      const { account } = session;
      // Always refetched: a cached chain could still list a device revoked since, and
      // encrypting to it is exactly what a revocation must stop. Verification stays
      // incremental (only new links are checked).
      return {
        loadUser: (name) => account.users.load(name, { refresh: true }),
        loadTeamKeys: async (name) => {
          const { teamTools } = await import('./team-commands.js');
          const { manager } = teamTools(session);
          return [(await manager.recipient(name)).encryptionKid];
        },
      };
    }),
    keys: (options) => {
      const source = openKeySource(options);
      opened.push(source);
      return source;
    },
    session: openSession,
    close: async () => {
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      if (session) await session.then((s) => s.close()).catch(() => undefined);
    },
  };
}

/**
 * The context real commands run with (`runCli` builds one per command). It loads nothing heavy
 * itself: the key sources (`keys.ts`, the Saltpack library) and the directory resolver
 * (`recipients.ts`, the client library) are imported when a command first uses them, so a
 * command answered by the agent (`kv`, `kvstore api`) never loads them (issue #15.3).
 *
 * @packageDocumentation
 */
import type { BoxKeyring, BoxSecretKey, SigningSecretKey } from '@saltbox/saltpack';
import { HOME_FILES, saltboxHome } from '@saltbox/keystore/paths';
import { join } from 'node:path';
import type { CommandContext } from './context.js';
import type { KeySource, KeySourceKind, KeySourceOptions } from './key-source.js';
import type { RecipientResolver } from './recipients.js';
import type { Session } from './session.js';
import { info } from './ui.js';
import type { Console } from './ui.js';

/** `keys.ts`'s {@link openKeySource}, imported on first use. */
class LazyKeySource implements KeySource {
  readonly #options: KeySourceOptions;
  #source: Promise<KeySource> | undefined;
  #loaded: KeySource | undefined;

  constructor(options: KeySourceOptions) {
    this.#options = options;
  }

  get kind(): KeySourceKind | undefined {
    return this.#loaded?.kind;
  }

  get location(): string {
    return (
      this.#loaded?.location ??
      this.#options.keyFile ??
      join(saltboxHome({ env: process.env }), HOME_FILES.keyFile)
    );
  }

  #load(): Promise<KeySource> {
    this.#source ??= import('./keys.js').then(
      (m) => (this.#loaded = m.openKeySource(this.#options)),
    );
    return this.#source;
  }

  async boxKey(): Promise<BoxSecretKey> {
    return (await this.#load()).boxKey();
  }

  async signingKey(): Promise<SigningSecretKey> {
    return (await this.#load()).signingKey();
  }

  async boxKeyring(): Promise<BoxKeyring> {
    return (await this.#load()).boxKeyring();
  }

  async close(): Promise<void> {
    await this.#loaded?.close();
  }
}

/**
 * The default context: real console, the directory resolver (users through this home's
 * account), key sources of `keys.ts`'s `openKeySource`.
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
    resolver: {
      // The directory resolver (and the client library behind it), loaded on first use.
      async resolve(specs, options) {
        const { directoryResolver } = await import('./recipients.js');
        const resolver: RecipientResolver = directoryResolver(async (options) => {
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
              // Encrypting is a write: a writer rotates a key a member's revoked device still
              // holds first; anyone else is warned (spec keybase-identity §6.4 CLKR).
              const r = await manager.recipient(name);
              if (r.awaitingRotation.length > 0) {
                const who = r.awaitingRotation.map((m) => m.username).join(', ');
                info(
                  console,
                  `warning: team ${r.name} awaits a key rotation (${who} revoked a device since its key was made); that device can read this message`,
                );
                info(
                  console,
                  `hint: a writer or admin of the team runs 'saltbox team rotate ${r.name}'`,
                );
              }
              return [r.encryptionKid];
            },
          };
        });
        return resolver.resolve(specs, options);
      },
    },
    keys: (options) => {
      const source = new LazyKeySource(options);
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

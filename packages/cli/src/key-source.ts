/**
 * The key-source interface: what commands ask for private-key handles. Types only, shared by
 * `keys.ts` (which chooses a source) and `keystore-access.ts` (which implements the keystore's)
 * without either importing the other back.
 *
 * @packageDocumentation
 */
import type { BoxKeyring, BoxSecretKey, SigningSecretKey } from '@saltbox/saltpack';

/** Where a {@link KeySource}'s keys are: a key file, the agent, or the keystore in-process. */
export type KeySourceKind = 'file' | 'agent' | 'keystore';

/**
 * A source of private-key handles: a key file, or the keystore, whose handles do the same
 * operations without revealing the secrets (Saltpack header work inside the keystore, bulk
 * payload work in the CLI).
 */
export interface KeySource {
  /** Which kind of source; undefined until the choice is made (on first use). */
  readonly kind: KeySourceKind | undefined;
  /** Where the keys live, for messages (a path or socket; never key material). */
  readonly location: string;
  /** The X25519 key used to send and receive encrypted messages. */
  boxKey(): Promise<BoxSecretKey>;
  /** The Ed25519 key used to sign. */
  signingKey(): Promise<SigningSecretKey>;
  /** A keyring holding every box key of this source (decryption). */
  boxKeyring(): Promise<BoxKeyring>;
  /** Releases the source (locks an in-process keystore, closes an agent connection). */
  close(): Promise<void>;
}

/** What {@link openKeySource} is told by the command line. */
export interface KeySourceOptions {
  /** `-k FILE`: use this key file and nothing else. */
  keyFile?: string | undefined;
  /** `--passphrase-file FILE`, for unlocking the keystore in this process. */
  passphraseFile?: string | undefined;
}

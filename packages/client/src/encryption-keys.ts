/**
 * Which keys a message to a user is encrypted to (DESIGN.md Identity: "Saltpack encryption to a
 * user targets the current PUK encryption key; Keybase also adds every active device and paper
 * encryption key; saltbox does the same"). One rule for the CLI, the provider and the web app.
 *
 * @packageDocumentation
 */

/**
 * The Curve25519 KIDs to encrypt to for a user (a `VerifiedUser`, or its keys): the newest
 * per-user key's, then every live device and paper key's, without duplicates. Empty when the
 * user has none.
 */
export function userEncryptionKids(user: {
  readonly perUserKeys: readonly { generation: number; encryptionKid: string }[];
  /** Live device and paper-key encryption KIDs (`0121…0a`). */
  readonly subkeys: readonly string[];
}): string[] {
  const current = [...user.perUserKeys].sort((a, b) => b.generation - a.generation)[0];
  const kids: string[] = current ? [current.encryptionKid] : [];
  for (const kid of user.subkeys) if (!kids.includes(kid)) kids.push(kid);
  return kids;
}

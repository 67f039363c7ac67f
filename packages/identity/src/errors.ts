/**
 * Every error the identity library raises.
 *
 * One class, {@link IdentityError}, with a literal `code` that callers switch on. The chain
 * verifier's codes map one-to-one to the `err_type` names of Keybase's `chain_tests.json`
 * (spec §3.8 item 6) through {@link ERR_TYPE_CODES}, so a suite in that format can be judged by
 * code alone. Messages are lowercase and never contain key material, seeds or phrases.
 *
 * @packageDocumentation
 */

/**
 * Keybase's `err_type` names (chain_tests.json and spec §3.8) and the code saltbox raises for
 * each. The mapping is a bijection: no two names share a code.
 */
export const ERR_TYPE_CODES = {
  VERIFY_FAILED: 'IDENTITY_VERIFY_FAILED',
  NONEXISTENT_KID: 'IDENTITY_NONEXISTENT_KID',
  REVERSE_SIG_VERIFY_FAILED: 'IDENTITY_REVERSE_SIG_VERIFY_FAILED',
  KID_MISMATCH: 'IDENTITY_KID_MISMATCH',
  FINGERPRINT_MISMATCH: 'IDENTITY_FINGERPRINT_MISMATCH',
  INVALID_SIBKEY: 'IDENTITY_INVALID_SIBKEY',
  EXPIRED_SIBKEY: 'IDENTITY_EXPIRED_SIBKEY',
  WRONG_UID: 'IDENTITY_WRONG_UID',
  WRONG_USERNAME: 'IDENTITY_WRONG_USERNAME',
  WRONG_PREV: 'IDENTITY_WRONG_PREV',
  WRONG_SEQNO: 'IDENTITY_WRONG_SEQNO',
  KEY_OWNERSHIP: 'IDENTITY_KEY_OWNERSHIP',
  NOT_LATEST_SUBCHAIN: 'IDENTITY_NOT_LATEST_SUBCHAIN',
  NO_KEY_WITH_THIS_HASH: 'IDENTITY_NO_KEY_WITH_THIS_HASH',
  BAD_CHAIN_LINK: 'IDENTITY_BAD_CHAIN_LINK',
  WRONG_PER_USER_KEY_REVERSE_SIG: 'IDENTITY_WRONG_PER_USER_KEY_REVERSE_SIG',
  CHAIN_LINK_STUBBED_UNSUPPORTED: 'IDENTITY_CHAIN_LINK_STUBBED_UNSUPPORTED',
  SIGCHAIN_V2_STUBBED_SIGNATURE_NEEDED: 'IDENTITY_SIGCHAIN_V2_STUBBED_SIGNATURE_NEEDED',
  SIGCHAIN_V2_STUBBED_FIRST_LINK: 'IDENTITY_SIGCHAIN_V2_STUBBED_FIRST_LINK',
  SIGCHAIN_V2_MISMATCHED_FIELD: 'IDENTITY_SIGCHAIN_V2_MISMATCHED_FIELD',
} as const;

/** A Keybase `err_type` name. */
export type KeybaseErrType = keyof typeof ERR_TYPE_CODES;

/** A code that corresponds to a Keybase `err_type`. */
export type ChainErrorCode = (typeof ERR_TYPE_CODES)[KeybaseErrType];

/** Codes for conditions outside Keybase's chain `err_type` vocabulary. */
export type OtherIdentityErrorCode =
  /** A caller passed an argument of the wrong shape (bad hex, wrong length, bad generation…). */
  | 'IDENTITY_INVALID_ARGUMENT'
  /** Bytes, base64, JSON or msgpack that cannot be decoded, or a value of the wrong shape. */
  | 'IDENTITY_MALFORMED'
  /** Decodable input whose canonical re-encoding differs (Keybase's "fishy msgpack" rule). */
  | 'IDENTITY_NON_CANONICAL'
  /** A tag-514/515 packet with a wrong tag, version, type or packet hash. */
  | 'IDENTITY_BAD_PACKET'
  /** A paper-key phrase with unknown words, too few words or the wrong version nibble. */
  | 'IDENTITY_BAD_PAPER_KEY'
  /** A NaCl box or secretbox (PUK/PTK box, prev) failed to open. */
  | 'IDENTITY_DECRYPTION_FAILED'
  /** A team or implicit-team name that is not well formed. */
  | 'IDENTITY_BAD_TEAM_NAME'
  /** A team chain broke one of Keybase's team rules (generations, team section, members…). */
  | 'IDENTITY_TEAM_CHAIN_INVALID'
  /** A team link's signer lacked the role its type needs, or broke the owner rules. */
  | 'IDENTITY_TEAM_PERMISSION'
  /** A team link that must be read in full arrived stubbed. */
  | 'IDENTITY_TEAM_STUBBED'
  /** A team chain does not end at the tail the caller trusts (Merkle leaf or pin). */
  | 'IDENTITY_TEAM_TAIL_MISMATCH'
  /** A team key generation, box or prev that the caller needs is not available. */
  | 'IDENTITY_TEAM_KEY_UNAVAILABLE'
  /** An opened team seed does not derive the keys the team chain records for its generation. */
  | 'IDENTITY_TEAM_KEY_MISMATCH'
  /** A team-chain feature saltbox deliberately leaves out (hidden chains, invites…). */
  | 'IDENTITY_UNSUPPORTED'
  /** A cached verified state does not fit the chain it is being extended with. */
  | 'IDENTITY_STATE_MISMATCH'
  /** A signed-log map or log proof that is malformed or does not lead to the signed root. */
  | 'IDENTITY_MERKLE_PROOF_INVALID'
  /** A signed-log root that is malformed or not signed by the pinned root key. */
  | 'IDENTITY_LOG_ROOT_INVALID'
  /** Two signed-log roots that no consistency proof joins: a rollback or a forked log. */
  | 'IDENTITY_LOG_INCONSISTENT';

/** Every code an {@link IdentityError} may carry. */
export type IdentityErrorCode = ChainErrorCode | OtherIdentityErrorCode;

/** Structured, secret-free details attached to an error. */
export interface IdentityErrorDetails {
  /** The seqno of the link being checked. */
  seqno?: number;
  /** The link ID (hex) of the link being checked. */
  linkId?: string;
  /** A KID (public) involved in the failure. */
  kid?: string;
  /** The field that disagreed or was malformed. */
  field?: string;
  /** Keybase's finer-grained error name, when a code covers several (e.g. `PrevError`). */
  keybaseError?: string;
}

const CODE_TO_ERR_TYPE = new Map<IdentityErrorCode, KeybaseErrType>(
  (Object.entries(ERR_TYPE_CODES) as [KeybaseErrType, ChainErrorCode][]).map(([t, c]) => [c, t]),
);

/**
 * The error type of the identity library.
 *
 * @typeParam C - the literal code, so narrowing on `code` narrows the type.
 */
export class IdentityError<C extends IdentityErrorCode = IdentityErrorCode> extends Error {
  override readonly name = 'IdentityError';
  /** The stable code. */
  readonly code: C;
  /** Structured, secret-free details. */
  readonly details: IdentityErrorDetails;

  /**
   * @param code - the stable code.
   * @param message - a lowercase description without secrets.
   * @param details - structured context (seqno, link ID, KID…).
   * @param options - an optional `cause`.
   */
  constructor(
    code: C,
    message: string,
    details: IdentityErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** Keybase's `err_type` for this error's code, when it has one. */
  get errType(): KeybaseErrType | undefined {
    return CODE_TO_ERR_TYPE.get(this.code);
  }

  /** A JSON-safe form: name, code, Keybase `err_type` (when any), message and details. */
  toJSON(): {
    name: 'IdentityError';
    code: C;
    errType?: KeybaseErrType;
    message: string;
    details: IdentityErrorDetails;
  } {
    const errType = this.errType;
    return {
      name: this.name,
      code: this.code,
      ...(errType === undefined ? {} : { errType }),
      message: this.message,
      details: this.details,
    };
  }
}

/** True when `e` is an {@link IdentityError} (optionally with the given code). */
export function isIdentityError<C extends IdentityErrorCode>(
  e: unknown,
  code?: C,
): e is IdentityError<C> {
  return e instanceof IdentityError && (code === undefined || e.code === code);
}

/** The code saltbox raises for a Keybase `err_type` name, or undefined for an unknown name. */
export function codeForErrType(errType: string): ChainErrorCode | undefined {
  return Object.hasOwn(ERR_TYPE_CODES, errType)
    ? ERR_TYPE_CODES[errType as KeybaseErrType]
    : undefined;
}

/** Shorthand used throughout the package: build an error with a code and details. */
export function fail<C extends IdentityErrorCode>(
  code: C,
  message: string,
  details: IdentityErrorDetails = {},
  cause?: unknown,
): IdentityError<C> {
  return new IdentityError(code, message, details, cause === undefined ? undefined : { cause });
}

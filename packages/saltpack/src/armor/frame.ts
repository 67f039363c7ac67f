/**
 * The BEGIN/END frame lines of Saltpack armor (spec §8.2 for writing, §8.3 for reading).
 *
 * A frame is `BEGIN [brand] SALTPACK <type>` (or `END …`), words separated by single spaces on
 * write. On read, runs of `[>\n\r\t ]` count as one separator, matching is case-sensitive, the
 * trimmed frame is at most 512 characters and the brand at most 128.
 *
 * @packageDocumentation
 */
import { SaltpackError } from '../errors.js';
import { isArmorByte } from './basex.js';

/** The three armor types: encryption and signcryption share `ENCRYPTED MESSAGE` (§8.2). */
export type ArmorType = 'ENCRYPTED MESSAGE' | 'SIGNED MESSAGE' | 'DETACHED SIGNATURE';

/** Every {@link ArmorType}, in a fixed order. */
export const ARMOR_TYPES: readonly ArmorType[] = [
  'ENCRYPTED MESSAGE',
  'SIGNED MESSAGE',
  'DETACHED SIGNATURE',
];

/** What a parsed frame says: the message type and the brand (`''` when there is none). */
export interface ArmorFrame {
  readonly type: ArmorType;
  readonly brand: string;
}

/** Which frame line: the header starts with `BEGIN`, the footer with `END`. */
export type FrameMarker = 'BEGIN' | 'END';

/** Longest trimmed frame accepted on read (Go `maxFrameLength`, §8.3). */
export const MAX_FRAME_LENGTH = 512;
/** Longest brand accepted (Go `maxBrandLength`, §8.3). */
export const MAX_BRAND_LENGTH = 128;

const FORMAT_NAME = 'SALTPACK';
// Go writes the brand unchecked; we restrict it on write so that what we write always parses
// back to the same brand (§8.2 recommendation).
const BRAND_PATTERN = /^[A-Za-z0-9]{1,128}$/;

/** True when `value` is one of the three armor type strings. */
export function isArmorType(value: unknown): value is ArmorType {
  return typeof value === 'string' && (ARMOR_TYPES as readonly string[]).includes(value);
}

/**
 * Checks a brand for writing: `''` (no brand) or 1 to 128 characters of `[A-Za-z0-9]`.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` (reason `invalid_parameter`) otherwise.
 */
export function assertValidBrand(brand: unknown): asserts brand is string {
  if (typeof brand !== 'string' || (brand !== '' && !BRAND_PATTERN.test(brand))) {
    throw new SaltpackError(
      'invalid_parameter',
      'armor brand must be 1 to 128 ascii letters or digits, or empty for no brand',
    );
  }
}

/**
 * Builds one frame line without punctuation exactly as Go writes it (§8.2), e.g.
 * `BEGIN KEYBASE SALTPACK ENCRYPTED MESSAGE` or `END SALTPACK SIGNED MESSAGE`.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` (reason `invalid_parameter`) for an unknown
 *   type or a brand that {@link assertValidBrand} rejects.
 */
export function buildFrame(marker: FrameMarker, type: ArmorType, brand = ''): string {
  if (!isArmorType(type)) {
    throw new SaltpackError('invalid_parameter', 'unknown armor type');
  }
  assertValidBrand(brand);
  return brand === ''
    ? `${marker} ${FORMAT_NAME} ${type}`
    : `${marker} ${brand} ${FORMAT_NAME} ${type}`;
}

/**
 * Parses one frame line (the text before its `.`, without the `.`) the way Go's `parseFrame`
 * does (§8.3): only alphabet and skip characters; after trimming at most 512 characters; runs
 * of `[>\n\r\t ]` collapse to one space; exactly `marker [brand] SALTPACK TYPE1 TYPE2`; a
 * brand of at most 128 characters.
 *
 * @throws SaltpackError `SALTPACK_BAD_ARMOR` (reason `bad_frame`) when any of these fails.
 */
export function parseFrame(text: string, marker: FrameMarker): ArmorFrame {
  const what = marker === 'BEGIN' ? 'header' : 'footer';
  for (let i = 0; i < text.length; i++) {
    if (!isArmorByte(text.charCodeAt(i)) || text.charCodeAt(i) > 0x7f) {
      throw badFrame(`invalid ascii sequence in armor ${what}`);
    }
  }
  // Go trims Unicode white space (not '>') before the length check; within our character set
  // that is TAB, LF, CR and space.
  const trimmed = text.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (trimmed.length > MAX_FRAME_LENGTH) throw badFrame(`armor ${what} is too long`);
  const collapsed = trimmed.replace(/[>\n\r\t ]+/g, ' ').trim();
  const words = collapsed.split(' ');
  if (words.length !== 4 && words.length !== 5) {
    throw badFrame(`wrong number of words (${words.length}) in armor ${what}`, collapsed);
  }
  if (words[0] !== marker) {
    throw badFrame(`bad armor ${what} prefix (wanted ${marker})`, collapsed);
  }
  const type = `${words[words.length - 2]!} ${words[words.length - 1]!}`;
  if (!isArmorType(type)) throw badFrame(`unknown message type in armor ${what}`, collapsed);
  if (words[words.length - 3] !== FORMAT_NAME) {
    throw badFrame(`bad format name in armor ${what}`, collapsed);
  }
  const brand = words.length === 5 ? words[1]! : '';
  if (brand.length > MAX_BRAND_LENGTH) throw badFrame(`armor ${what} brand is too long`, collapsed);
  return { type, brand };
}

/**
 * Checks a parsed header against the types the caller accepts (§8.3: an encrypted message
 * framed as `SIGNED MESSAGE` is rejected by the decryptor).
 *
 * @throws SaltpackError `SALTPACK_BAD_ARMOR` (reason `bad_frame`) when the type is not accepted.
 */
export function checkFrameType(frame: ArmorFrame, accepted: readonly ArmorType[]): void {
  if (!accepted.includes(frame.type)) {
    const wanted = accepted.map((t) => `"${t}"`).join(' or ');
    throw badFrame(`wanted ${wanted} but got "${frame.type}"`);
  }
}

/**
 * Checks that the footer matches the header: same type, same brand (a missing footer brand
 * against a branded header is a mismatch, §8.3).
 *
 * @throws SaltpackError `SALTPACK_BAD_ARMOR` (reason `bad_frame`) on a type or brand mismatch.
 */
export function checkFooter(header: ArmorFrame, footer: ArmorFrame): void {
  if (footer.type !== header.type) {
    throw badFrame(`wanted "${header.type}" but got "${footer.type}" in armor footer`);
  }
  if (footer.brand !== header.brand) {
    throw badFrame(`brand mismatch: "${header.brand}" != "${footer.brand}"`, footer.brand);
  }
}

function badFrame(message: string, frame?: string): SaltpackError {
  return new SaltpackError(
    'bad_frame',
    `error in framing: ${message}`,
    frame === undefined ? {} : { frame },
  );
}

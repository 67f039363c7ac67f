/**
 * Characters that must never reach a terminal from a name someone else chose: C0 controls
 * (ESC starts CSI/OSC sequences), DEL, C1 controls (U+0080–U+009F, CSI as one code point on
 * some terminals), and the Unicode bidirectional marks, embeddings, overrides and isolates
 * (which reorder what follows them: "Trojan Source"). Device names refuse them on the server
 * and the client; the CLI escapes them wherever it prints a name (#12.16).
 *
 * @packageDocumentation
 */

const SET = '[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]';

/** One character of the set above, globally (for `replace`). */
export const UNSAFE_DISPLAY_CHARACTERS = new RegExp(SET, 'gu');

const ONE = new RegExp(SET, 'u');

/** True when `text` holds a character that must not be printed raw (see the module comment). */
export function hasUnsafeDisplayCharacters(text: string): boolean {
  return ONE.test(text);
}

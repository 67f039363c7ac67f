/**
 * Copying a secret to the clipboard, cleared again after a timeout (as password managers do):
 * when the timer fires, and on lock or sign-out, the clipboard is emptied if it still holds what
 * was copied — or if it cannot be read back (no permission), since then it might. A clipboard
 * the user has since filled with something else is left alone.
 *
 * @packageDocumentation
 */
import { WebError } from './errors.js';

/** How long a copied value stays on the clipboard by default. */
export const CLIPBOARD_CLEAR_MS = 30_000;

let copied: string | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;

/**
 * Writes `text` to the clipboard and schedules its clearing.
 *
 * @throws WebError `WEB_UNSUPPORTED_BROWSER` when the page may not write the clipboard.
 */
export async function copySecret(text: string, clearAfterMs: number): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    throw new WebError('WEB_UNSUPPORTED_BROWSER', 'this browser refused to write the clipboard');
  }
  copied = text;
  clearTimeout(timer);
  timer = setTimeout(() => {
    void clearCopied();
  }, clearAfterMs);
}

/** Empties the clipboard if it still holds (or may hold) the copied secret. */
export async function clearCopied(): Promise<void> {
  clearTimeout(timer);
  timer = undefined;
  if (copied === null) return;
  const mine = copied;
  copied = null;
  let current: string | null = null;
  try {
    current = await navigator.clipboard.readText();
  } catch {
    current = null;
  }
  if (current !== null && current !== mine) return;
  try {
    await navigator.clipboard.writeText('');
  } catch {
    // Without focus the write is refused; nothing else can be done from a page.
  }
}

/** Whether a copied secret is waiting to be cleared. */
export function clipboardPending(): boolean {
  return copied !== null;
}

/**
 * The page's small DOM toolkit: element lookup, element building, the status and error lines,
 * and `action`, which runs one user action at a time with the buttons disabled and any error
 * shown as `CODE: message` (plus a hint where one helps).
 *
 * @packageDocumentation
 */
import { shownError, WebError } from './errors.js';
import { hintFor } from './hints.js';

/** The element with this ID. @throws WebError `WEB_INTERNAL` when the page lacks it. */
export function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new WebError('WEB_INTERNAL', `the page has no #${id}`);
  return el;
}

/** A form field by ID. */
export const field = (id: string) => byId(id) as HTMLInputElement | HTMLTextAreaElement;

/** A checkbox by ID. */
export const checkbox = (id: string) => byId(id) as HTMLInputElement;

/** Builds an element with text and attributes (text goes in as text, never as HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** Sets the status line (`role="status"`). */
export function setStatus(text: string): void {
  byId('status').textContent = text;
}

/** Shows an error: its code (also in `data-code`), its message, and a hint if one helps. */
export function showError(e: unknown): void {
  const shown = shownError(e);
  // Uncoded errors may quote input: their text goes to the console of this browser only.
  if (shown.code === 'WEB_INTERNAL') console.error(e);
  const box = byId('error');
  box.dataset.code = shown.code;
  const hint = hintFor(shown.code);
  box.textContent = `${shown.code}: ${shown.message}${hint ? ` — ${hint}` : ''}`;
  box.hidden = false;
  setStatus('');
}

/** Hides the error line. */
export function clearError(): void {
  const box = byId('error');
  box.hidden = true;
  box.textContent = '';
  delete box.dataset.code;
}

let busy = false;
let interceptor: ((e: unknown) => Promise<boolean>) | null = null;

/**
 * Sets what `action` asks first when an action fails: the lock dialog answers true when the
 * failure was the keystore's idle lock and the user unlocked, so the action runs again.
 */
export function setRetryInterceptor(fn: (e: unknown) => Promise<boolean>): void {
  interceptor = fn;
}

/**
 * Runs one user action: one at a time, buttons disabled meanwhile, `label: done` in the status
 * line after, errors shown. `onError` may take an error over (returning true) instead.
 */
export async function action(
  label: string,
  fn: () => Promise<void>,
  onError?: (e: unknown) => boolean,
): Promise<void> {
  if (busy) return;
  busy = true;
  const buttons = Array.from(
    document.querySelectorAll<HTMLButtonElement>(
      'main button, .topbar button, .start button, .sidebar button',
    ),
  );
  const enabled = buttons.filter((b) => !b.disabled);
  for (const b of enabled) b.disabled = true;
  document.body.setAttribute('aria-busy', 'true');
  clearError();
  setStatus(`${label}…`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await fn();
        break;
      } catch (e) {
        if (attempt === 0 && interceptor !== null && (await interceptor(e))) continue;
        throw e;
      }
    }
    setStatus(`${label}: done`);
  } catch (e) {
    if (onError?.(e) === true) setStatus(`${label}: stopped`);
    else showError(e);
  } finally {
    for (const b of enabled) b.disabled = false;
    document.body.removeAttribute('aria-busy');
    busy = false;
  }
}

/** The code of a coded error (saltbox's errors carry one), or null. */
export function codeOf(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

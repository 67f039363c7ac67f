/**
 * The hostile suites' compromised server: a fetch that forwards each request to the real
 * server and lets the test rewrite successful JSON answers (by percent-decoded path) before the
 * client sees them. Error answers pass through untouched.
 */

/** Rewrites one answer body; gets the decoded request path. */
export type Rewrite = (path: string, body: unknown) => unknown;

/** A rewriting fetch and its switch: set `state.rewrite` to lie, `null` to answer honestly. */
export function lyingFetch(): { f: typeof fetch; state: { rewrite: Rewrite | null } } {
  const state: { rewrite: Rewrite | null } = { rewrite: null };
  const f: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = input instanceof URL ? input : new URL(input as string);
    if (state.rewrite === null || !res.ok) return res;
    const body: unknown = await res.json();
    return Response.json(state.rewrite(decodeURIComponent(url.pathname), body), {
      status: res.status,
    });
  };
  return { f, state };
}

/**
 * Starts one of the CLI's built entry points (`dist/…`) for the committed bin shims beside
 * this file.
 *
 * The shims exist because npm links a package's bins into `node_modules/.bin` only when their
 * targets exist at install time: in the repository `dist/` is built later (by the root
 * `prepare` script, after the links are made), so bins pointing into `dist/` would never be
 * linked and `npx saltbox` would fail. The shims are committed, so they are linked, and by the
 * time anyone runs them `dist/` is built. The published package ships both.
 */
import { existsSync } from 'node:fs';

/**
 * Imports `dist/<entry>` (which runs the command), or says how to build it when it is missing.
 *
 * @param command - the command's name, for the message
 * @param entry - the built file in `dist/`
 */
export async function start(command, entry) {
  const url = new URL(`../dist/${entry}`, import.meta.url);
  if (!existsSync(url)) {
    process.stderr.write(
      `${command}: the CLI is not built (no packages/cli/dist/${entry})\n` +
        `${command}: hint: run 'npm run build' in the repository\n`,
    );
    process.exitCode = 1;
    return;
  }
  await import(url.href);
}

/**
 * The CLI's modules import one another without cycles (issue #15.3): every relative import —
 * static, type-only or dynamic `import()` — read with the TypeScript compiler's own pre-parser,
 * so a cycle hidden behind a lazy import or an `import type` is caught as well.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const SRC = join(ROOT, 'packages/cli/src');

/** Module → the modules of this directory it imports (by file name). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(SRC).filter((f) => f.endsWith('.ts'))) {
    const info = ts.preProcessFile(readFileSync(join(SRC, file), 'utf8'), true, true);
    const deps = info.importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith('./'))
      .map((name) => name.slice(2).replace(/\.js$/, '.ts'));
    graph.set(file, [...new Set(deps)]);
  }
  return graph;
}

/** Every elementary cycle found by depth-first search, each as a path `a → b → … → a`. */
function cycles(graph: Map<string, string[]>): string[] {
  const found = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        // One spelling per cycle: rotated to start at its smallest name.
        const start = cycle.indexOf([...cycle].sort()[0]!);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        found.add([...rotated, rotated[0]].join(' → '));
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return [...found].sort();
}

describe('cli import graph', () => {
  it('reads the imports the check relies on (static, type-only and dynamic)', () => {
    const graph = importGraph();
    // cli.ts: a static import, a type-only import and lazy command modules.
    expect(graph.get('cli.ts')).toEqual(
      expect.arrayContaining(['errors.ts', 'context.ts', 'commands.ts', 'kvstore-command.ts']),
    );
    expect(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', ['a.ts']],
        ]),
      ),
    ).toEqual(['a.ts → b.ts → a.ts']);
  });

  it('has no import cycles', () => {
    expect(cycles(importGraph())).toEqual([]);
  });
});

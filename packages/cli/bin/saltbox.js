#!/usr/bin/env -S node --max-semi-space-size=1
// The `saltbox` command (see start.js for why a committed shim). The 1 MiB young generation
// keeps peak memory of bulk encryption low, as in dist/main.js's own line.
import { start } from './start.js';

await start('saltbox', 'main.js');

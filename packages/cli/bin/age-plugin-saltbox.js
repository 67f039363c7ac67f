#!/usr/bin/env node
// The `age-plugin-saltbox` binary that age runs (see start.js for why a committed shim).
import { start } from './start.js';

await start('age-plugin-saltbox', 'age-plugin-main.js');

#!/usr/bin/env node
// The `saltbox-keybase` command (see start.js for why a committed shim).
import { start } from './start.js';

await start('saltbox-keybase', 'keybase-shim.js');

#!/usr/bin/env node
/** Entry point of the `saltbox` command (replaced by the full CLI as it lands). */
process.stdout.write('saltbox: end-to-end encrypted key-value store and secrets provider\n');

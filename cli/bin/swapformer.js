#!/usr/bin/env node
// Committed so that npm links the bin on the first install of a fresh clone: npm links workspace
// bins before `prepare` builds dist/, and skips a bin whose file does not exist yet.
'use strict';
let cli;
try {
  cli = require('../dist/cli.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('dist/cli.js')) {
    process.stderr.write('swapformer: @swapformer/cli is not built (no dist/cli.js). In the monorepo run `npm run build`.\n');
    process.exit(1);
  }
  throw error;
}
void cli.main(process.argv);

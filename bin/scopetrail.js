#!/usr/bin/env node
// Installed, the CLI runs the compiled JS with plain node. In a checkout (the
// TypeScript sources beside it) it runs them through tsx, so development needs no build.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const source = join(__dirname, '..', 'client', 'cli.ts');
let cli;
if (existsSync(source)) {
  require('tsx/cjs');
  cli = require(source);
} else {
  cli = require('../dist/client/cli.js');
}
cli.runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

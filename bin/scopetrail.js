#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so the CLI needs no build step.
require('tsx/cjs');
const { runCli } = require('../client/cli.ts');
runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

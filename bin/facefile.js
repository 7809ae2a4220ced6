#!/usr/bin/env node
// The `facefile` command. The sources are TypeScript, run through tsx's loader (a dependency), so
// there is no build step between a clone and a working command.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));

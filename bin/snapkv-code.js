#!/usr/bin/env node
// The `snapkv-code` command. A checked-in shim, so npm can link it before
// the TypeScript is built; the command itself is server/src/cli/main.ts.
require('../out/server/src/cli/main.js');

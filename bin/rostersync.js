#!/usr/bin/env node
// The `rostersync` command. Runs the TypeScript sources through tsx (a runtime dependency),
// so an installed checkout needs no separate build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');

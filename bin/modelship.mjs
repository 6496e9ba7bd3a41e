#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx modelship` works right after
// `npm install` with no build step to remember. `register()` hooks the loader of this very
// process (no child process, unlike the `tsx` command), so signals reach modelship directly;
// `npm start` runs this with `exec`, so npm's forwarded SIGINT and SIGTERM do too.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');

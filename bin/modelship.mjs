#!/usr/bin/env node
// Runs the TypeScript sources directly, so `npx modelship` works right after `npm install` with
// no build step to remember: from a bundle compiled on first start and kept while the sources are
// unchanged, else through tsx (compiled-entry.mjs). Either way in this very process (no child
// process, unlike the `tsx` command), so signals reach modelship directly; `npm start` runs this
// with `exec`, so npm's forwarded SIGINT and SIGTERM do too.
import { importEntry } from './compiled-entry.mjs';

await importEntry(new URL('../cli/main.ts', import.meta.url));

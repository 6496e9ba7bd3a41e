// Entry point of validation's isolated onnxruntime process: starts run-child.ts from its compiled
// bundle, else through tsx (the project runs its TypeScript without a build step; see
// bin/compiled-entry.mjs). A file of its own so that the child finds its loader from here,
// whatever the worker's working directory or loader flags are.
import { importEntry } from '../bin/compiled-entry.mjs';

await importEntry(new URL('./run-child.ts', import.meta.url));

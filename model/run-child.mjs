// Entry point of validation's isolated onnxruntime process: registers tsx (the project runs its
// TypeScript without a build step), then runs run-child.ts. A file of its own so that the child
// finds tsx from here, whatever the worker's working directory or loader flags are.
import { register } from 'tsx/esm/api';

register();
await import('./run-child.ts');

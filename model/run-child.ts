/**
 * The isolated onnxruntime process of validation (started by `isolation.ts` through
 * `run-child.mjs`). It says `ready`, takes one `run` request, loads the model from its file path,
 * runs it (`model-run.ts`), sends the result or the failure, and exits. Memory and time limits
 * are imposed from outside; nothing here can lift them.
 */
import { ModelError } from './errors.ts';
import { runModel } from './model-run.ts';
import type { ChildMessage, ParentMessage } from './run-protocol.ts';

/** Sends one message and resolves once it is handed to the channel (so exit cannot drop it). */
function send(message: ChildMessage): Promise<void> {
  return new Promise((resolveSend, rejectSend) => {
    if (!process.send) {
      rejectSend(new Error('run-child.ts must be started with an IPC channel'));
      return;
    }
    process.send(message, undefined, {}, (error) => (error ? rejectSend(error) : resolveSend()));
  });
}

/** A failure as the parent needs it: model errors keep their kind, the rest are errors. */
function describeFailure(error: unknown): ChildMessage {
  if (error instanceof ModelError) {
    return { kind: 'failure', type: error.kind, message: error.message, details: error.details };
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { kind: 'error', message };
}

async function serve(message: ParentMessage): Promise<void> {
  let outcome: ChildMessage;
  try {
    const result = await runModel(message.request, (details) => {
      // Best effort: a lost progress message only delays a heartbeat.
      send({ kind: 'progress', details: details as { phase: string } & Record<string, number> }).catch(
        () => {},
      );
    });
    outcome = { kind: 'result', result };
  } catch (error) {
    outcome = describeFailure(error);
  }
  await send(outcome);
  process.disconnect?.();
}

process.once('message', (message: ParentMessage) => {
  serve(message).catch((error: unknown) => {
    console.error(error);
    process.exit(70);
  });
});
send({ kind: 'ready' }).catch((error: unknown) => {
  console.error(error);
  process.exit(70);
});

/**
 * The port through which the gates reach a model's files. The checks (scan, signatures, secrets)
 * read files on local disk, so every implementation's job is to say where the model and its
 * directory are on disk, and how a finding should name them:
 *
 * - `localModelFiles` (the worker, `modelship scan`): files already on disk, the model in the
 *   artifact store and its directory in the checkout; nothing to copy.
 * - the commit implementation (`gitops/commit-model-files.ts`, for `plan`): the model directory
 *   as committed is copied into a private temporary directory. It costs one copy per spec, but
 *   `plan` judges exactly the committed bytes, never the working tree.
 *
 * The size is asked before `open`, so that a model over the size limit is refused without being
 * read or copied at all.
 */
import { stat } from 'node:fs/promises';

/** A model's files as the gates read them. */
export interface ModelFiles {
  /** The model file's size in bytes, without reading it. */
  modelSize(): Promise<number>;
  /** The model and its directory on local disk; `release` removes whatever was made for them. */
  open(): Promise<LocalModel>;
}

export interface LocalModel {
  /** The model file. */
  modelFile: string;
  /** The directory whose files are signed, scanned for secrets and hold external data; null when there is none (https://). */
  modelDir: string | null;
  /** How findings name the directory: its path in the repository (`models/iris/v2`), `''` at the root. */
  dirLabel: string;
  release(): Promise<void>;
}

/** Files already on disk: `modelFile` (e.g. the artifact store's copy) and the model's directory. */
export function localModelFiles(options: {
  modelFile: string;
  modelDir: string | null;
  dirLabel?: string;
}): ModelFiles {
  const { modelFile, modelDir } = options;
  return {
    modelSize: async () => (await stat(modelFile)).size,
    open: async () => ({
      modelFile,
      modelDir,
      dirLabel: options.dirLabel ?? modelDir ?? '',
      release: async () => {},
    }),
  };
}

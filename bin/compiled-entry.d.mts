// Types of compiled-entry.mjs (plain JavaScript: it runs before any TypeScript loader exists).

/** Imports a TypeScript entry point from its compiled bundle when usable, else through tsx. */
export function importEntry(entryUrl: URL): Promise<unknown>;

/** The current bundle of `entryPath`, built when missing or stale. */
export function compiledEntry(
  entryPath: string,
  options?: { root?: string; cacheRoot?: string },
): Promise<string>;

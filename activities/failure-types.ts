/** Moved to `domain/failure-types.ts`; this re-export goes once workflows import it from there. */
export * from '../domain/failure-types.ts';

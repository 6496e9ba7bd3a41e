/**
 * The validate activity's share of the deeper report (`model/holdout-evaluation.ts` computes the
 * rest): the comparison with the stable version's importances through the `StableManifests`
 * port, which is reported, never judged.
 */
import type { DeploymentRef } from '../domain/deployment.ts';
import type { Explanations } from '../model/report/analysis.ts';
import { type ImportanceReport, importanceShift } from '../model/report/importance.ts';
import { importanceInManifest } from '../model/report/importance-schema.ts';
import type { StableManifests } from './stable-importance.ts';

/** How long validation waits for the stable version's manifest before reporting it unavailable. */
const STABLE_LOOKUP_MS = 10_000;

/**
 * The explanations with the shift against the stable version's importances, or with the reason
 * there is none. Never throws for the stable's sake: the comparison is information, not a gate.
 */
export async function compareWithStable(
  source: StableManifests | undefined,
  deployment: DeploymentRef,
  importance: ImportanceReport,
  topK: number,
): Promise<Explanations> {
  if (!source) return { importance, shiftUnavailable: 'this worker has no way to read the stable version' };
  let stable: Awaited<ReturnType<StableManifests['read']>>;
  let timer: NodeJS.Timeout | undefined;
  try {
    // A data plane that does not answer must not hold a validation that is already done.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${STABLE_LOOKUP_MS / 1000} s`)),
        STABLE_LOOKUP_MS,
      );
    });
    stable = await Promise.race([source.read(deployment), late]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      importance,
      shiftUnavailable: `the stable version could not be read through the ${source.name}: ${message}`,
    };
  } finally {
    clearTimeout(timer);
  }
  if (!stable) return { importance, shiftUnavailable: 'the model has no stable version yet' };
  const found = importanceInManifest(stable.manifest);
  if (!found.ok) return { importance, shiftUnavailable: `stable version ${stable.version}: ${found.reason}` };
  return {
    importance,
    shift: {
      stable: { version: stable.version, bundleDigest: stable.bundleDigest },
      ...importanceShift(found.importance, importance, topK),
    },
  };
}

/**
 * What an environment's data plane should serve, and what each of its replicas says it serves:
 * the zod schemas of both records and the types inferred from them. Everything a store reads
 * back (a row, a file someone may have edited by hand) is parsed with these, as is everything a
 * caller hands in, so a value that does not fit is refused with `field: problem`, never stored.
 */
import { z } from 'zod';
import { dnsLabel } from '../specs/schema.ts';

/** An environment's name, as in specs and policy files: a DNS label (also a safe file name). */
export const EnvironmentName = dnsLabel;

/** A model's name, as in specs: a DNS label. */
export const ModelName = dnsLabel;

/**
 * A version name on the data plane. The same alphabet as the admin API's (`serving/admin-schemas.ts`,
 * which this layer may not import): names travel in URLs, headers and metric labels.
 */
export const VersionName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'must be 1-128 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/** The OCI manifest digest a replica pulls a bundle by. */
export const BundleDigest = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, 'must be an OCI digest: "sha256:" and 64 lowercase hex digits');

/**
 * A serve replica's id: lower case so that two ids never name one file on a case-insensitive
 * disk, no "/" and no leading "." so that the file store's `replicas/<id>.json` stays inside its
 * folder. Pod names and lower-cased host names fit.
 */
export const ReplicaId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,127}$/,
    'must be 1-128 characters: lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/** A version and the bundle it is made of. One name always means one bundle (see {@link ModelRouting}). */
export const VersionRef = z.strictObject({ version: VersionName, bundle: BundleDigest });
export type VersionRef = z.output<typeof VersionRef>;

/** The candidate taking `weight` percent of live traffic. Integers, as the spec's `setWeight` steps. */
export const CanaryRef = z.strictObject({
  version: VersionName,
  bundle: BundleDigest,
  weight: z.int().min(0, 'must be from 0 to 100 (percent)').max(100, 'must be from 0 to 100 (percent)'),
});
export type CanaryRef = z.output<typeof CanaryRef>;

/**
 * One model's desired routing, the durable twin of the data plane's `RoutingSnapshot`
 * (`serving/transitions.ts`): stable takes the traffic the canary does not, shadow gets a copy
 * of stable's, previousStable is where a rollback without a target returns to. A model is served
 * exactly when it has an entry, so `stable` is required: retiring a model removes its entry.
 *
 * Rules: canary and shadow are never the stable version (by name or by bundle), previousStable
 * is not the stable version, and a version name means the same bundle in every role.
 */
export const ModelRouting = z
  .strictObject({
    stable: VersionRef,
    canary: CanaryRef.nullable(),
    shadow: VersionRef.nullable(),
    previousStable: VersionRef.nullable(),
  })
  .superRefine((routing, ctx) => {
    const roles = ['stable', 'canary', 'shadow', 'previousStable'] as const;
    const seen = new Map<string, { role: string; bundle: string }>();
    for (const role of roles) {
      const ref = routing[role];
      if (ref === null) continue;
      const earlier = seen.get(ref.version);
      if (earlier === undefined) {
        seen.set(ref.version, { role, bundle: ref.bundle });
      } else if (earlier.bundle !== ref.bundle) {
        ctx.addIssue({
          code: 'custom',
          path: [role, 'bundle'],
          message: `version "${ref.version}" is ${earlier.role} with bundle ${earlier.bundle}: one version name is one bundle`,
        });
      }
    }
    const { stable } = routing;
    for (const role of ['canary', 'shadow', 'previousStable'] as const) {
      const ref = routing[role];
      if (ref === null) continue;
      if (ref.version === stable.version) {
        ctx.addIssue({
          code: 'custom',
          path: [role, 'version'],
          message: `must not be the stable version ("${stable.version}")`,
        });
      } else if (role !== 'previousStable' && ref.bundle === stable.bundle) {
        ctx.addIssue({
          code: 'custom',
          path: [role, 'bundle'],
          message: `is the stable version's bundle under another name ("${stable.version}")`,
        });
      }
    }
  });
export type ModelRouting = z.output<typeof ModelRouting>;

/** Every model the environment serves, by name. */
export const Models = z.record(ModelName, ModelRouting);
export type Models = z.output<typeof Models>;

const Timestamp = z.iso.datetime({ offset: true });
const Generation = z.int().min(0, 'must be a whole number, 0 or more');

/**
 * An environment's desired state. `generation` counts its changes: 0 means never written, and
 * every update that changes `models` adds exactly one, so no two different states of an
 * environment ever share a generation. Who made the change and why are kept for people.
 */
export const DesiredState = z.strictObject({
  environment: EnvironmentName,
  generation: Generation,
  models: Models,
  /** When this generation was written; null for generation 0. */
  updatedAt: Timestamp.nullable(),
  /** Who wrote it, e.g. a workflow id; null when not given. */
  updatedBy: z.string().max(500).nullable(),
  /** Why, e.g. "canary iris 3f2a9c1b04de at 20 %"; null when not given. */
  reason: z.string().max(2000).nullable(),
});
export type DesiredState = z.output<typeof DesiredState>;

/** How a replica stands against the newest generation it has seen. */
export const ReplicaStatus = z.enum(['converged', 'converging', 'failed']);
export type ReplicaStatus = z.output<typeof ReplicaStatus>;

// A report must always get through (it is also the heartbeat), so an overlong message is cut
// rather than refused.
const MESSAGE_CHARS = 2000;
const Message = z
  .string()
  .transform((text) => (text.length > MESSAGE_CHARS ? text.slice(0, MESSAGE_CHARS) : text));

const reportFields = {
  environment: EnvironmentName,
  replica: ReplicaId,
  /**
   * The newest desired generation the replica has read: the one it serves (`converged`), is
   * applying (`converging`) or failed to apply (`failed`).
   */
  generation: Generation,
  /** The generation whose routing it serves in full right now; 0 before its first convergence. */
  serving: Generation,
  status: ReplicaStatus,
  /** Why it failed, or what it is waiting for. */
  message: Message.nullable(),
  /** Where its data plane answers, for people and tools. */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .nullable(),
  /** When the replica's process started: a change means it restarted. */
  startedAt: Timestamp,
};

function servingFits(report: { generation: number; serving: number; status: ReplicaStatus }): boolean {
  return report.status === 'converged'
    ? report.serving === report.generation
    : report.serving <= report.generation;
}
const SERVING_RULE = {
  path: ['serving'],
  message: 'must equal generation when converged, and be at most generation otherwise',
};

/** What a replica sends; the store adds `reportedAt` from its own clock. */
export const ReplicaReportInput = z
  .strictObject({
    ...reportFields,
    message: reportFields.message.optional().transform((text) => text ?? null),
    url: reportFields.url.optional().transform((url) => url ?? null),
  })
  .refine(servingFits, SERVING_RULE);
export type ReplicaReportInput = z.input<typeof ReplicaReportInput>;

/**
 * A replica's latest report. `reportedAt` is stamped by the store (PostgreSQL's clock, or this
 * machine's for the file store), never by the replica, so liveness does not depend on the
 * replicas' clocks agreeing.
 */
export const ReplicaReport = z
  .strictObject({ ...reportFields, reportedAt: Timestamp })
  .refine(servingFits, SERVING_RULE);
export type ReplicaReport = z.output<typeof ReplicaReport>;

/** The reports of one environment's replicas and the store's clock when it read them. */
export interface ReplicaReports {
  environment: string;
  /** The store's time of the read: compare `reportedAt` with this, not with a local clock. */
  readAt: string;
  /** Ordered by replica id. */
  reports: ReplicaReport[];
}

/** The desired state of an environment nobody has written yet. */
export function emptyDesiredState(environment: string): DesiredState {
  return { environment, generation: 0, models: {}, updatedAt: null, updatedBy: null, reason: null };
}

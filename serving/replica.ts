/**
 * A serve replica that follows its environment's desired state (`desired-state/`): it watches the
 * record, pulls every bundle the routing names from the environment's OCI store by digest
 * (verified on the way in, and its signed evidence checked against the trusted evidence keys),
 * loads and warms each version, assigns the routing in one step, retires models the record no
 * longer names, and reports the generation it serves. A restarted or new replica does the same
 * from nothing, so it serves again with no human action; nothing it needs lives in its memory.
 *
 * Reports double as liveness: one goes out on every change of status and every `heartbeatMs`
 * besides, so a rollout waiting on this replica sees it alive (or sees it gone). A generation it
 * cannot apply (a bundle missing from the store, evidence that does not verify, a model that will
 * not load) is reported `failed` with the reason, while the replica keeps serving the last
 * generation it applied in full; it tries again on the next change or heartbeat.
 */
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DesiredStateStore } from '../desired-state/store.ts';
import type { DesiredState, ModelRouting, ReplicaStatus } from '../desired-state/types.ts';
import {
  BOM_SIGNATURE_FILE,
  BUNDLE_ARTIFACT_TYPE,
  bundleRepository,
  EVIDENCE_ARTIFACT_TYPE,
  MANIFEST_FILE,
  MODEL_FILE,
} from '../domain/bundle-format.ts';
import { pullArtifact } from '../oci/artifact.ts';
import type { Digest } from '../oci/digest.ts';
import type { OciStore } from '../oci/store.ts';
import { verifyStatementBundle } from '../supply-chain/signing/index.ts';
import type { ModelRegistry } from './registry.ts';

export interface ReplicaOptions {
  environment: string;
  /** This replica's id in the reports: stable across its restarts (a host or pod name). */
  replica: string;
  /** Where its data plane answers, for people and tools reading the reports. */
  url: string | null;
  desired: DesiredStateStore;
  /** The environment's OCI store, where `package` pushed the bundles. */
  store: OciStore;
  /** Where pulled bundles are kept, one directory per manifest digest. */
  cacheDir: string;
  /** The server's models: the replica loads into it and assigns its routing. */
  registry: ModelRegistry;
  /**
   * PEM public keys a bundle's evidence must verify under (one of them); empty: evidence is not
   * checked (the embedded single-machine setup, where the worker's own key is the only one).
   */
  evidenceKeys: readonly string[];
  /** How often a report goes out when nothing changes (default 2 s). */
  heartbeatMs?: number;
  /** Called each time it has applied a generation in full (the first call: it may take traffic). */
  onConverged?: (generation: number) => void;
  log?: (line: string) => void;
}

/** A running replica. */
export interface Replica {
  /** The generation it serves in full, 0 before its first convergence. */
  serving(): number;
  /** Stops following the record and removes its report (it no longer counts as live). */
  stop(): Promise<void>;
}

/** A bundle's directory name in the cache: the manifest digest with ":" made file-name safe. */
const cacheName = (digest: string) => digest.replace(':', '-');

/** The routing of one model as version names, the shape the registry assigns. */
function assignedRouting(routing: ModelRouting) {
  return {
    stable: routing.stable.version,
    canary: routing.canary ? { name: routing.canary.version, weight: routing.canary.weight } : null,
    shadow: routing.shadow?.version ?? null,
    previousStable: routing.previousStable?.version ?? null,
  };
}

/** Every (version, bundle) the routing names, each once. */
function routedVersions(routing: ModelRouting) {
  const refs = [routing.stable, routing.canary, routing.shadow, routing.previousStable].filter(
    (ref): ref is NonNullable<typeof ref> => ref !== null,
  );
  return [...new Map(refs.map((ref) => [ref.version, ref.bundle])).entries()].map(([version, bundle]) => ({
    version,
    bundle,
  }));
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const { environment, replica, desired, store, registry } = options;
  const log = options.log ?? (() => undefined);
  const startedAt = new Date().toISOString();
  let latest: DesiredState | undefined;
  let serving = 0;
  let status: ReplicaStatus = 'converging';
  let message: string | null = 'starting';
  let running: Promise<void> | undefined;
  let stopped = false;
  let failedGeneration: number | undefined;

  const report = async () => {
    if (stopped) return;
    const generation = latest?.generation ?? 0;
    await desired
      .report({
        environment,
        replica,
        generation,
        serving,
        status: status === 'converged' && serving !== generation ? 'converging' : status,
        message,
        url: options.url,
        startedAt,
      })
      .catch((error: unknown) =>
        log(`replica: cannot report to ${desired.location}: ${(error as Error).message}`),
      );
  };

  /** Pulls the bundle into the cache (verified, whole or absent) and checks its evidence. */
  async function bundleDir(model: string, digest: string): Promise<string> {
    const dir = join(options.cacheDir, cacheName(digest));
    if (await exists(dir)) return dir;
    const repository = bundleRepository(model);
    const scratch = `${dir}.pulling`;
    await rm(scratch, { recursive: true, force: true });
    await pullArtifact(store, {
      repository,
      digest: digest as Digest,
      targetDir: scratch,
      expectArtifactType: BUNDLE_ARTIFACT_TYPE,
    });
    try {
      if (options.evidenceKeys.length > 0) await checkEvidence(repository, digest, scratch);
      await rename(scratch, dir).catch(async (error: unknown) => {
        // Another convergence of this process got there first: that copy is as good.
        if (!(await exists(dir))) throw error;
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
      await rm(`${scratch}.evidence`, { recursive: true, force: true });
    }
    return dir;
  }

  /**
   * The bundle's evidence must be a referrer of its manifest, signed by a trusted key, about
   * this bundle's model bytes: a bundle pushed by anyone else, or evidence copied from another
   * bundle, is refused before it is loaded.
   */
  async function checkEvidence(repository: string, digest: string, bundle: string): Promise<void> {
    const referrers = await store.listReferrers(repository, digest as Digest, {
      artifactType: EVIDENCE_ARTIFACT_TYPE,
    });
    const manifest = JSON.parse(await readFile(join(bundle, MANIFEST_FILE), 'utf8')) as {
      files?: { path: string; sha256: string }[];
    };
    const modelSha = manifest.files?.find((file) => file.path === MODEL_FILE)?.sha256;
    const problems: string[] = [];
    for (const referrer of referrers) {
      const target = `${bundle}.evidence`;
      await rm(target, { recursive: true, force: true });
      await pullArtifact(store, { repository, digest: referrer.digest, targetDir: target });
      const names = await readdir(target);
      if (!names.includes(BOM_SIGNATURE_FILE)) {
        problems.push(`${referrer.digest} holds no ${BOM_SIGNATURE_FILE}`);
        continue;
      }
      const signed = await readFile(join(target, BOM_SIGNATURE_FILE), 'utf8');
      for (const key of options.evidenceKeys) {
        try {
          const statement = verifyStatementBundle(signed, key) as {
            subject?: { digest?: { sha256?: string } }[];
          };
          if (statement.subject?.some((subject) => subject.digest?.sha256 === modelSha)) return;
          problems.push(`${referrer.digest} is signed, but about other model bytes than this bundle's`);
        } catch (error) {
          problems.push(`${referrer.digest}: ${(error as Error).message}`);
        }
      }
    }
    const found = referrers.length === 0 ? 'it has no evidence referrer' : problems.join('; ');
    throw new Error(`bundle ${digest} in ${repository}: no evidence signed by a trusted key (${found})`);
  }

  /** Applies `state` in full, or throws leaving the previous routing in service. */
  async function apply(state: DesiredState): Promise<void> {
    for (const [model, routing] of Object.entries(state.models)) {
      for (const { version, bundle } of routedVersions(routing)) {
        const dir = await bundleDir(model, bundle);
        await registry.load(model, version, dir);
      }
    }
    for (const [model, routing] of Object.entries(state.models))
      registry.assign(model, assignedRouting(routing));
    for (const entry of registry.entries())
      if (state.models[entry.name] === undefined) registry.retireModel(entry.name);
  }

  /** Converges on the newest state until there is no newer one; one run at a time. */
  function converge(): Promise<void> {
    running ??= (async () => {
      try {
        while (
          !stopped &&
          latest !== undefined &&
          (serving !== latest.generation || status !== 'converged')
        ) {
          const target = latest;
          // A retry of the generation that just failed keeps reporting the failure until it
          // succeeds: a rollout waiting on this replica sees one steady reason, not a flicker.
          const retry = status === 'failed' && target.generation === failedGeneration;
          if (!retry) {
            status = 'converging';
            message = `applying generation ${target.generation}`;
            await report();
          }
          try {
            await apply(target);
            serving = target.generation;
            status = 'converged';
            message = null;
            options.onConverged?.(target.generation);
            log(`replica ${replica}: serving generation ${target.generation} of ${environment}`);
          } catch (error) {
            failedGeneration = target.generation;
            status = 'failed';
            message = `generation ${target.generation}: ${(error as Error).message}`;
            log(`replica ${replica}: ${message}`);
            await report();
            // Tried again on the next change or heartbeat, not in a tight loop.
            if (latest === target) return;
            continue;
          }
          await report();
        }
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  const stopWatching = await desired.watch(environment, (state) => {
    latest = state;
    void converge();
  });
  const heartbeat = setInterval(() => {
    if (status === 'failed') void converge();
    else void report();
  }, options.heartbeatMs ?? 2000);
  heartbeat.unref();

  return {
    serving: () => serving,
    async stop() {
      if (stopped) return;
      clearInterval(heartbeat);
      await stopWatching();
      await running?.catch(() => undefined);
      stopped = true;
      await desired.forgetReplicas(environment, { replica }).catch(() => undefined);
    },
  };
}

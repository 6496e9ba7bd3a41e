/**
 * The models this server holds and their routing. Admin changes go through here: each one
 * computes the next immutable snapshot with a pure transition (`transitions.ts`) and publishes it
 * with a single assignment; versions taken out of service are retired and released once their
 * in-flight requests have finished. Loading reads the bundle, loads the model from its file path,
 * warms it, and only then marks it ready (so the first version of a model becomes stable warm).
 */
import type { RetireModelReply, RoutingState } from './api-types.ts';
import { BundleError, readBundle, type ServableBundle } from './bundle.ts';
import { HttpError } from './http.ts';
import type { MetricsRegistry } from './metrics.ts';
import { ModelLoadError, ModelVersion } from './model-version.ts';
import { WeylRoller } from './routing.ts';
import {
  type AssignedRouting,
  assignRouting,
  emptySnapshot,
  putVersion,
  type RoutingSnapshot,
  removeVersion,
  retireModel,
  type Transition,
} from './transitions.ts';

/** One model: its current snapshot (replaced, never mutated) and its source of routing rolls. */
export class ModelEntry {
  snapshot: RoutingSnapshot<ModelVersion>;
  readonly roller = new WeylRoller();
  /** Loads in progress by version name, so a repeated load waits for the first instead of racing it. */
  readonly loads = new Map<string, { digest: string; done: Promise<void> }>();
  /** Set when the model is retired: the entry is out of the registry, its versions drain. */
  retired = false;

  constructor(readonly name: string) {
    this.snapshot = emptySnapshot(name);
  }
}

/** The admin view of a snapshot. */
export function routingState(s: RoutingSnapshot<ModelVersion>): RoutingState {
  return {
    model: s.model,
    generation: s.generation,
    stable: s.stable && { version: s.stable.name, bundleDigest: s.stable.bundle.digest },
    canary: s.canary && { version: s.canary.version.name, weight: s.canary.weight },
    shadow: s.shadow && { version: s.shadow.name },
    loaded: [...s.versions.values()].map(({ version, state }) => ({
      version: version.name,
      bundleDigest: version.bundle.digest,
      state,
    })),
  };
}

/** Outcome of a load: 201 for a new version, 200 when it was already there. */
interface LoadOutcome {
  status: 200 | 201;
  state: RoutingState;
}

/** Every model of the server. */
export class ModelRegistry {
  private readonly models = new Map<string, ModelEntry>();
  /** Retired models whose versions are still draining, so `close` releases them too. */
  private readonly retiring = new Set<ModelEntry>();
  /** Why the server is not ready although its models are (a replica that has not converged yet). */
  private hold: string | undefined;

  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Holds `/v2/health/ready` at 503 with `reason` (undefined lifts it): a replica that follows
   * desired state is not ready until it has applied it once, or a load balancer or Kubernetes
   * would send it requests for models it has not loaded yet.
   */
  holdReadiness(reason: string | undefined): void {
    this.hold = reason;
  }

  /** The reason readiness is held, if it is. */
  readinessHold(): string | undefined {
    return this.hold;
  }

  /** The model's entry, for the request path. */
  get(model: string): ModelEntry | undefined {
    return this.models.get(model);
  }

  entries(): ModelEntry[] {
    return [...this.models.values()];
  }

  /** The entry or a 404 naming the models there are. */
  require(model: string): ModelEntry {
    const entry = this.models.get(model);
    if (!entry) {
      const known = [...this.models.keys()].map((name) => `"${name}"`).join(', ') || 'none';
      throw new HttpError(404, `model "${model}" is not loaded (models: ${known})`);
    }
    return entry;
  }

  /** Publishes a transition's snapshot (one assignment), then retires what it took out of service. */
  apply(entry: ModelEntry, transition: Transition<ModelVersion>, action: string): RoutingState {
    if (!transition.ok) throw new HttpError(transition.status, transition.message);
    const changed = transition.snapshot !== entry.snapshot;
    entry.snapshot = transition.snapshot;
    for (const version of transition.unload) version.retire(() => this.finishUnload(entry, version));
    if (changed) this.log(`${entry.name}: ${action} (generation ${entry.snapshot.generation})`);
    return routingState(entry.snapshot);
  }

  /** Assigns the model's whole routing at once (a replica converging on desired state). */
  assign(model: string, target: AssignedRouting): RoutingState {
    const entry = this.require(model);
    const canary = target.canary ? `, canary "${target.canary.name}" at ${target.canary.weight} %` : '';
    const shadow = target.shadow ? `, shadow "${target.shadow}"` : '';
    return this.apply(
      entry,
      assignRouting(entry.snapshot, target),
      `routing: stable "${target.stable}"${canary}${shadow}`,
    );
  }

  /**
   * Retires a whole model: it leaves the registry at once (new requests get 404, it is gone from
   * `GET /admin/v1/models`), and each of its versions drains and is unloaded once its in-flight
   * requests and queued shadow copies have finished. An unknown model is not an error.
   */
  retireModel(model: string): RetireModelReply {
    const entry = this.models.get(model);
    if (!entry) {
      return {
        model,
        retired: false,
        draining: [],
        message: `model "${model}" is not loaded (never deployed here, or already retired): nothing to retire`,
      };
    }
    this.models.delete(model);
    entry.retired = true;
    this.retiring.add(entry);
    const transition = retireModel(entry.snapshot);
    const draining = transition.ok ? transition.unload.map((version) => version.name) : [];
    this.apply(entry, transition, 'retired');
    const list = draining.join(', ') || 'none';
    return {
      model,
      retired: true,
      draining,
      message: `model "${model}" retired: traffic stopped; versions draining, then unloaded: ${list}`,
    };
  }

  private finishUnload(entry: ModelEntry, version: ModelVersion): void {
    entry.snapshot = removeVersion(entry.snapshot, version);
    if (entry.retired && entry.snapshot.versions.size === 0) this.retiring.delete(entry);
    this.log(`${entry.name}: version "${version.name}" drained and unloaded`);
    version.dispose().catch((error: unknown) => {
      this.log(`${entry.name}: releasing version "${version.name}" failed: ${(error as Error).message}`);
    });
  }

  /** Loads `bundlePath` as `version` of `model`; see the module comment. Idempotent per digest. */
  async load(model: string, version: string, bundlePath: string): Promise<LoadOutcome> {
    const bundle = await readBundle(bundlePath).catch((error: unknown) => {
      throw error instanceof BundleError ? new HttpError(422, error.message) : error;
    });
    if (bundle.modelName !== model) {
      throw new HttpError(
        422,
        `bundle ${bundle.path} holds model "${bundle.modelName}" (metadata.name of its spec), not "${model}"`,
      );
    }
    let entry = this.models.get(model);
    if (!entry) {
      entry = new ModelEntry(model);
      this.models.set(model, entry);
    }
    const conflict = (digest: string) =>
      new HttpError(
        409,
        `version "${version}" of "${model}" is already loaded from bundle ${digest}; load bundle ${bundle.digest} under another version name`,
      );

    const pending = entry.loads.get(version);
    if (pending) {
      if (pending.digest !== bundle.digest) throw conflict(pending.digest);
      await pending.done;
      return { status: 200, state: routingState(entry.snapshot) };
    }
    const existing = entry.snapshot.versions.get(version);
    if (existing) {
      if (existing.version.bundle.digest !== bundle.digest) throw conflict(existing.version.bundle.digest);
      if (existing.state === 'draining') {
        // Loaded again before it drained: take it back instead of loading a second copy.
        existing.version.reinstate();
        this.apply(
          entry,
          { ok: true, snapshot: putVersion(entry.snapshot, existing.version, 'ready'), unload: [] },
          `version "${version}" back in service`,
        );
      }
      return { status: 200, state: routingState(entry.snapshot) };
    }

    const done = this.loadNew(entry, version, bundle);
    entry.loads.set(version, { digest: bundle.digest, done });
    try {
      await done;
    } finally {
      entry.loads.delete(version);
      const empty = entry.snapshot.versions.size === 0 && entry.loads.size === 0;
      if (empty && this.models.get(model) === entry) this.models.delete(model);
    }
    return { status: 201, state: routingState(entry.snapshot) };
  }

  private async loadNew(entry: ModelEntry, name: string, bundle: ServableBundle): Promise<void> {
    const started = performance.now();
    const metrics = this.metrics.forVersion(entry.name, name);
    const version = await ModelVersion.load(entry.name, name, bundle, metrics).catch((error: unknown) => {
      throw error instanceof ModelLoadError ? new HttpError(422, error.message) : error;
    });
    entry.snapshot = putVersion(entry.snapshot, version, 'warming');
    try {
      await version.warm();
    } catch (error) {
      entry.snapshot = removeVersion(entry.snapshot, version);
      await version.dispose();
      throw error instanceof ModelLoadError ? new HttpError(422, error.message) : error;
    }
    if (entry.retired) {
      // The model was retired while this version warmed: release it instead of serving it.
      entry.snapshot = removeVersion(entry.snapshot, version);
      if (entry.snapshot.versions.size === 0) this.retiring.delete(entry);
      await version.dispose();
      throw new HttpError(409, `model "${entry.name}" was retired while version "${name}" was loading`);
    }
    const wasStable = entry.snapshot.stable !== null;
    entry.snapshot = putVersion(entry.snapshot, version, 'ready');
    const role = wasStable ? '' : ', stable at 100 %';
    const ms = (performance.now() - started).toFixed(1);
    this.log(
      `${entry.name}: version "${name}" ready (bundle ${bundle.digest.slice(0, 12)}, ${ms} ms${role})`,
    );
  }

  /**
   * Releases every session; call after the HTTP server and the shadow queue have stopped. A
   * request still running (its connection was cut at the drain timeout) gets up to `graceMs` to
   * finish first, so its session is not released under it.
   */
  async close(graceMs = 1000): Promise<void> {
    const versions = [...this.entries(), ...this.retiring].flatMap((entry) => [
      ...entry.snapshot.versions.values(),
    ]);
    this.models.clear();
    this.retiring.clear();
    const deadline = performance.now() + graceMs;
    while (versions.some(({ version }) => version.inflight > 0) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(versions.map(({ version }) => version.dispose().catch(() => undefined)));
  }
}

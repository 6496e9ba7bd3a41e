/** `modelship serve`: run the serving data plane until SIGINT or SIGTERM, then drain and stop. */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { createAdminClient } from '../../serving/admin-client.ts';
import { readBundle } from '../../serving/bundle.ts';
import { DEFAULT_LIMITS, type ServingLimits } from '../../serving/limits.ts';
import { ServingConfigError, type ServingServer, startServingServer } from '../../serving/server.ts';
import { parseDuration } from '../../specs/duration.ts';
import { loadConfig } from '../../worker/config.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { feedbackOptions } from '../serve-feedback.ts';
import { followDesiredState } from '../serve-replica.ts';

const d = DEFAULT_LIMITS;
const USAGE = `Usage: modelship serve [--port 8000] [--host 127.0.0.1] [--admin-token-file FILE]
                       [--insecure-admin] [--bundle-root DIR] [--load MODEL[@VERSION]=BUNDLE_DIR ...]
                       [--environment ENV [--replica-id ID] [--evidence-key FILE ...]]
                       [--feedback-token-file FILE] [--prediction-key-file FILE]
                       [--no-monitoring] [limits]

Serves ONNX models over the Open Inference Protocol (KServe V2 REST) under /v2, with per-model
stable/canary/shadow routing, Prometheus metrics at /metrics and the admin API under /admin/v1.

Options:
  --port N                  port to listen on (default 8000; 0 picks a free one)
  --host HOST               interface to listen on (default 127.0.0.1)
  --admin-token-file FILE   file holding the admin API's bearer token (else $MODELSHIP_ADMIN_TOKEN)
  --insecure-admin          run the admin API without a token (local use only)
  --bundle-root DIR         the admin API loads bundles only from inside DIR, symlinks resolved
                            (default $MODELSHIP_HOME/bundles, where packaging writes them)
  --load MODEL=DIR          load a bundle directory at start (repeatable; DIR is trusted, as if
                            inside the bundle root); the version is MODEL@VERSION=DIR, or the
                            first 12 characters of the bundle digest
  --no-monitoring           do not count live statistics (inputs against each bundle's reference
                            profile, data-quality violations); onViolation: reject is still
                            enforced (default: counted, GET /admin/v1/models/{m}/statistics and
                            /metrics)

One replica of an environment's data plane (no --load then; the admin API refuses writes):
  --environment ENV         follow ENV's desired state ($MODELSHIP_DESIRED_STATE_URL, else files
                            in $MODELSHIP_HOME): pull its bundles by digest from ENV's registry
                            ($MODELSHIP_REGISTRY_URL(S), else $MODELSHIP_HOME/oci), serve its
                            routing, report the generation served; a restart serves again by itself
  --replica-id ID           this replica's name in the reports (default <host name>-<port>)
  --evidence-key FILE       PEM public key a bundle's signed evidence must verify under
                            (repeatable; default the worker's key in $MODELSHIP_HOME/keys)

Ground truth (POST /v2/models/{m}/feedback; see serving/README.md; prediction ids and the
estimate without labels are part of monitoring: none with --no-monitoring):
  --feedback-token-file FILE   bearer token of the feedback endpoint, not the admin token (without
                            it, feedback is refused)
  --prediction-key-file FILE   secrets prediction ids are signed with, one per line, the first
                            signs (default: derived from the admin token; without one,
                            $MODELSHIP_HOME/keys/prediction-id.key, created once, when
                            feedback is on)
  --feedback-max-age D      labels of older predictions are refused as late (default 30d)
  --feedback-replay-window N   label ids remembered against replays (default 262144)

Limits (each refused with a 4xx and a JSON body; see serving/README.md):
  --max-body-bytes N        request body (default ${d.maxBodyBytes})
  --max-response-bytes N    infer response body (default ${d.maxResponseBytes})
  --max-json-depth N        nesting of arrays and objects in a body (default ${d.maxJsonDepth})
  --max-elements N          tensor elements in one request, all inputs (default ${d.maxElements})
  --max-header-bytes N      request line and headers (default ${d.maxHeaderBytes})
  --headers-timeout D       time to send the request head, e.g. 5s (default ${d.headersTimeoutMs}ms)
  --body-timeout D          time to send the body once the head is in (default ${d.bodyTimeoutMs}ms)

Stops on Ctrl-C (SIGINT) or SIGTERM: stops accepting connections, lets in-flight requests
finish, then releases the models.`;

const count = z.coerce.number().int('must be a whole number').positive('must be above 0');

const duration = z.string().transform((text, ctx) => {
  try {
    const ms = Math.round(parseDuration(text));
    if (ms > 0) return ms;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: `must be a duration such as 500ms or 5s, got "${text}"` });
  return z.NEVER;
});

const Flags = z.object({
  port: z.coerce
    .number()
    .int('must be a whole number')
    .min(0, 'must be from 0 to 65535')
    .max(65535, 'must be from 0 to 65535')
    .default(8000),
  host: z.string().min(1).default('127.0.0.1'),
  'admin-token-file': z.string().min(1).optional(),
  'insecure-admin': z.boolean().default(false),
  'bundle-root': z.string().min(1).optional(),
  environment: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'must be an environment name as in specs (a DNS label)')
    .optional(),
  'replica-id': z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, 'must be lowercase letters, digits, ".", "_" or "-"')
    .optional(),
  'evidence-key': z.array(z.string().min(1)).default([]),
  'no-monitoring': z.boolean().default(false),
  'feedback-token-file': z.string().min(1).optional(),
  'prediction-key-file': z.string().min(1).optional(),
  'feedback-max-age': duration.optional(),
  'feedback-replay-window': count.optional(),
  load: z
    .array(
      z
        .string()
        .regex(/^[^=@]+(@[^=]+)?=.+$/, 'must be MODEL=BUNDLE_DIR or MODEL@VERSION=BUNDLE_DIR')
        .transform((text) => {
          const [head = '', ...path] = text.split('=');
          const [model = '', version] = head.split('@');
          // Absolute: the server resolves relative bundle paths against its bundle root.
          return { model, version, bundlePath: resolve(path.join('=')) };
        }),
    )
    .default([]),
  'max-body-bytes': count.optional(),
  'max-response-bytes': count.optional(),
  'max-json-depth': count.optional(),
  'max-elements': count.optional(),
  'max-header-bytes': count.optional(),
  'headers-timeout': duration.optional(),
  'body-timeout': duration.optional(),
});
type Flags = z.output<typeof Flags>;

/** The limits the flags set; the others keep the server's defaults. */
function limitsOf(flags: Flags): Partial<ServingLimits> {
  const given: Record<keyof ServingLimits, number | undefined> = {
    maxBodyBytes: flags['max-body-bytes'],
    maxResponseBytes: flags['max-response-bytes'],
    maxJsonDepth: flags['max-json-depth'],
    maxElements: flags['max-elements'],
    maxHeaderBytes: flags['max-header-bytes'],
    headersTimeoutMs: flags['headers-timeout'],
    bodyTimeoutMs: flags['body-timeout'],
  };
  return Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
}

async function adminToken(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return loadConfig().dataPlane.adminToken;
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new CliError(`serve: cannot read the admin token file: ${(error as Error).message}`);
  });
  const token = text.trim();
  if (token === '') throw new CliError(`serve: the admin token file ${file} is empty`);
  return token;
}

/** Loads the `--load` bundles through the server's own admin API, as the control plane would. */
async function preload(server: ServingServer, token: string | undefined, loads: Flags['load']) {
  const admin = createAdminClient({ baseUrl: server.url, token });
  for (const { model, version, bundlePath } of loads) {
    const name = version ?? (await readBundle(bundlePath)).digest.slice(0, 12);
    const state = await admin.loadVersion({ model, version: name, bundlePath });
    const role = state.stable?.version === name ? 'stable' : 'loaded, no traffic';
    console.log(`serve: ${model} version ${name} ready (${role}) from ${bundlePath}`);
  }
}

const untilSignal = () =>
  new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });

export const command: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        port: { type: 'string' },
        host: { type: 'string' },
        'admin-token-file': { type: 'string' },
        'insecure-admin': { type: 'boolean' },
        'bundle-root': { type: 'string' },
        load: { type: 'string', multiple: true },
        environment: { type: 'string' },
        'replica-id': { type: 'string' },
        'evidence-key': { type: 'string', multiple: true },
        'no-monitoring': { type: 'boolean' },
        'feedback-token-file': { type: 'string' },
        'prediction-key-file': { type: 'string' },
        'feedback-max-age': { type: 'string' },
        'feedback-replay-window': { type: 'string' },
        'max-body-bytes': { type: 'string' },
        'max-response-bytes': { type: 'string' },
        'max-json-depth': { type: 'string' },
        'max-elements': { type: 'string' },
        'max-header-bytes': { type: 'string' },
        'headers-timeout': { type: 'string' },
        'body-timeout': { type: 'string' },
      },
      USAGE,
    );
    const parsed = Flags.safeParse(values);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `--${String(issue.path[0])}: ${issue.message}`);
      throw new CliError(`serve: ${problems.join('; ')}\n\n${USAGE}`);
    }
    const flags = parsed.data;
    if (flags.environment !== undefined && flags.load.length > 0) {
      throw new CliError(
        "serve: --load and --environment exclude each other: a replica serves only what its environment's desired state names",
      );
    }
    const token = await adminToken(flags['admin-token-file']);
    const bundleRoot = resolve(flags['bundle-root'] ?? join(loadConfig().home, 'bundles'));
    const feedback = await feedbackOptions(
      {
        predictionKeyFile: flags['prediction-key-file'],
        feedbackTokenFile: flags['feedback-token-file'],
        feedbackMaxAgeMs: flags['feedback-max-age'],
        feedbackReplayWindow: flags['feedback-replay-window'],
      },
      token,
      loadConfig().home,
    );
    const server = await startServingServer({
      host: flags.host,
      port: flags.port,
      ...(token === undefined ? {} : { adminToken: token }),
      insecureAdmin: flags['insecure-admin'],
      monitoring: !flags['no-monitoring'],
      // The operator named the --load bundles on the command line: they are trusted as roots too.
      bundleRoots: [bundleRoot, ...flags.load.map((load) => load.bundlePath)],
      ...limitsOf(flags),
      ...feedback,
      ...(flags.environment === undefined ? {} : { followsEnvironment: flags.environment }),
      log: (line) => console.error(`serve: ${line}`),
    }).catch((error: unknown) => {
      throw error instanceof ServingConfigError ? new CliError(`serve: ${error.message}`) : error;
    });
    // Registered before anything slow, so a signal during the preload still stops cleanly.
    const signal = untilSignal();
    console.log(`serve: listening on ${server.url}`);
    console.log(
      token === undefined
        ? 'serve: admin API is OPEN (--insecure-admin: no token); use only on a trusted machine'
        : 'serve: admin API requires its bearer token',
    );
    console.log(
      feedback.feedbackToken === undefined
        ? 'serve: feedback is refused (no --feedback-token-file)'
        : 'serve: feedback requires its own bearer token',
    );
    let unfollow = async () => {};
    try {
      if (flags.environment === undefined) {
        console.log(`serve: the admin API loads bundles from ${bundleRoot}`);
        await Promise.race([preload(server, token, flags.load), signal]);
      } else {
        unfollow = await followDesiredState(server, {
          environment: flags.environment,
          replicaId: flags['replica-id'],
          evidenceKeyFiles: flags['evidence-key'].map((file) => resolve(file)),
          config: loadConfig(),
          log: (line) => console.log(`serve: ${line}`),
        });
      }
    } catch (error) {
      await server.close();
      throw error instanceof CliError ? error : new CliError(`serve: ${(error as Error).message}`, 1);
    }
    const received = await signal;
    console.log(`serve: ${received}: draining in-flight requests`);
    // The replica leaves the reports first, so a rollout stops waiting for it at once.
    await unfollow();
    await server.close();
    console.log('serve: stopped');
    return 0;
  },
};

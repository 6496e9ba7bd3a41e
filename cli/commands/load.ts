/**
 * `modelship load`: sends holdout rows to a served model at a fixed rate or concurrency for a
 * bounded time, with a progress line on stderr and a summary at the end (or on Ctrl-C).
 */
import { z } from 'zod';
import {
  formatProgress,
  formatSummary,
  HoldoutError,
  type LoadHooks,
  type LoadOptions,
  LoadTargetError,
  runLoad,
  TransportKind,
} from '../../serving/loadgen/index.ts';
import { parseDuration } from '../../specs/duration.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const DEFAULT_RATE = 100;
const DEFAULT_DURATION = '10s';

const USAGE = `Usage: modelship load --model NAME --holdout FILE [--url URL] [--rate N | --concurrency N]
                      [--duration 10s] [--requests N] [--json] [--quiet] [more options]

Sends the rows of a holdout CSV, cycled, one row per KServe V2 request, to
POST <url>/v2/models/<model>/infer, and reports latency (client side), errors by status,
the share of each version (x-modelship-version header) and its accuracy against the labels.
Stops after --duration or --requests, whichever comes first; Ctrl-C stops early and still
prints the summary. Exit code 1 when no request succeeded.

Options:
  --url URL                  server base URL (default http://127.0.0.1:8000)
  --model NAME               model name in the URL
  --holdout FILE             holdout CSV: feature columns and a label column
  --label-column NAME        label column of the CSV (default label)
  --prediction-output NAME   output holding the predicted class (default label)
  --input-name NAME          input tensor name (default input)
  --rate N                   open loop: N requests per second on a wall-clock schedule (default ${DEFAULT_RATE})
  --concurrency N            closed loop: N callers, each waits for its answer
  --duration D               e.g. 500ms, 30s, 2m (default ${DEFAULT_DURATION} unless --requests is given)
  --requests N               stop after sending N requests
  --route-key-prefix P       send x-modelship-route-key: P<n>, n cycling over --route-keys callers
  --route-keys N             distinct route keys (default 1000)
  --pin-version V            send x-modelship-version: V (the server answers with V)
  --timeout D                per-request timeout (default 10s)
  --transport KIND           http (default), raw or fetch
  --shift F=D[sd][@T]        replay the holdout with feature F shifted by D (in the column's units,
                             or in its standard deviations with "sd"), from T into the run on
                             (default 0s): e.g. --shift petal_length=+1.5sd@30s, drifted traffic
                             for the monitor
  --json                     print the summary as JSON on stdout
  --quiet                    no progress line`;

const positiveInt = (flag: string) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} takes a positive whole number`)
    .transform(Number)
    .refine((n) => n > 0 && Number.isSafeInteger(n), `${flag} takes a positive whole number`);

const duration = (flag: string) =>
  z.string().transform((text, ctx) => {
    try {
      const ms = parseDuration(text);
      if (ms > 0) return ms;
    } catch {
      // reported below with the flag's name
    }
    ctx.addIssue({
      code: 'custom',
      message: `${flag} takes a duration such as 500ms, 30s or 2m, got "${text}"`,
    });
    return z.NEVER;
  });

const FlagsSchema = z
  .object({
    url: z
      .url({ protocol: /^http$/, error: '--url must be an http:// URL' })
      .default('http://127.0.0.1:8000'),
    model: z.string({ error: '--model is required' }).min(1, '--model is required'),
    holdout: z.string({ error: '--holdout is required' }).min(1, '--holdout is required'),
    'label-column': z.string().min(1).default('label'),
    'prediction-output': z.string().min(1).default('label'),
    'input-name': z.string().min(1).default('input'),
    rate: z
      .string()
      .transform(Number)
      .refine((n) => Number.isFinite(n) && n > 0, '--rate takes a positive number of requests per second')
      .optional(),
    concurrency: positiveInt('--concurrency').optional(),
    duration: duration('--duration').optional(),
    requests: positiveInt('--requests').optional(),
    'route-key-prefix': z.string().optional(),
    'route-keys': positiveInt('--route-keys').optional(),
    'pin-version': z.string().min(1).optional(),
    timeout: duration('--timeout').default(10_000),
    transport: z.enum(TransportKind, { error: '--transport is one of http, raw, fetch' }).default('http'),
    shift: z
      .string()
      .transform((text, ctx) => {
        const match = /^([^=]+)=([+-]?\d+(?:\.\d+)?)(sd)?(?:@(.+))?$/.exec(text);
        let afterMs = 0;
        try {
          afterMs = match?.[4] ? parseDuration(match[4]) : 0;
        } catch {
          afterMs = Number.NaN;
        }
        if (!match || !Number.isFinite(afterMs)) {
          ctx.addIssue({
            code: 'custom',
            message: `--shift takes FEATURE=DELTA[sd][@DURATION], e.g. petal_length=+1.5sd@30s; got "${text}"`,
          });
          return z.NEVER;
        }
        return {
          feature: match[1] as string,
          by: Number(match[2]),
          unit: match[3] ? ('sd' as const) : ('value' as const),
          afterMs,
        };
      })
      .optional(),
    json: z.boolean().default(false),
    quiet: z.boolean().default(false),
  })
  .refine((flags) => flags.rate === undefined || flags.concurrency === undefined, {
    message: '--rate and --concurrency exclude each other: pick open loop or closed loop',
  });

function toLoadOptions(flags: z.output<typeof FlagsSchema>): LoadOptions {
  const noBound = flags.duration === undefined && flags.requests === undefined;
  return {
    url: flags.url,
    model: flags.model,
    holdout: flags.holdout,
    labelColumn: flags['label-column'],
    predictionOutput: flags['prediction-output'],
    inputName: flags['input-name'],
    mode:
      flags.concurrency === undefined
        ? { kind: 'rate', ratePerS: flags.rate ?? DEFAULT_RATE }
        : { kind: 'concurrency', concurrency: flags.concurrency },
    ...(noBound ? { durationMs: parseDuration(DEFAULT_DURATION) } : {}),
    ...(flags.duration === undefined ? {} : { durationMs: flags.duration }),
    ...(flags.requests === undefined ? {} : { requests: flags.requests }),
    ...(flags['route-key-prefix'] === undefined ? {} : { routeKeyPrefix: flags['route-key-prefix'] }),
    ...(flags['route-keys'] === undefined ? {} : { routeKeys: flags['route-keys'] }),
    ...(flags['pin-version'] === undefined ? {} : { pinVersion: flags['pin-version'] }),
    timeoutMs: flags.timeout,
    transport: flags.transport,
    ...(flags.shift ? { shift: flags.shift } : {}),
  };
}

/**
 * Progress on stderr: rewritten in place every second on a terminal; a full line every 5 s
 * otherwise, so that logs of CI runs and scripts stay short but still show a run is alive.
 */
function progressPrinter(quiet: boolean): { hooks: LoadHooks; end(): void } {
  if (quiet) return { hooks: {}, end() {} };
  const tty = process.stderr.isTTY === true;
  let drawn = false;
  let ticks = 0;
  return {
    hooks: {
      onProgress: (progress) => {
        ticks += 1;
        if (tty) {
          process.stderr.write(`\r\x1b[K${formatProgress(progress)}`);
          drawn = true;
        } else if (ticks % 5 === 0) {
          process.stderr.write(`${formatProgress(progress)}\n`);
        }
      },
    },
    end() {
      if (drawn) process.stderr.write('\n');
    },
  };
}

export const command: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        url: { type: 'string' },
        model: { type: 'string' },
        holdout: { type: 'string' },
        'label-column': { type: 'string' },
        'prediction-output': { type: 'string' },
        'input-name': { type: 'string' },
        rate: { type: 'string' },
        concurrency: { type: 'string' },
        duration: { type: 'string' },
        requests: { type: 'string' },
        'route-key-prefix': { type: 'string' },
        'route-keys': { type: 'string' },
        'pin-version': { type: 'string' },
        timeout: { type: 'string' },
        transport: { type: 'string' },
        shift: { type: 'string' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
      },
      USAGE,
    );
    const parsed = FlagsSchema.safeParse(values);
    if (!parsed.success) {
      throw new CliError(`${parsed.error.issues.map((issue) => issue.message).join('\n')}\n\n${USAGE}`);
    }
    const flags = parsed.data;
    const options = toLoadOptions(flags);

    const controller = new AbortController();
    const onInterrupt = () => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write(
        '\nload: interrupted, waiting for requests in flight (Ctrl-C again to quit now)\n',
      );
      controller.abort();
    };
    process.on('SIGINT', onInterrupt);
    process.on('SIGTERM', onInterrupt);
    const progress = progressPrinter(flags.quiet);
    let summary: Awaited<ReturnType<typeof runLoad>>;
    try {
      summary = await runLoad(options, { ...progress.hooks, signal: controller.signal });
    } catch (error) {
      if (error instanceof LoadTargetError) throw new CliError(error.message, 1);
      if (error instanceof HoldoutError) throw new CliError(error.message, 2);
      throw error;
    } finally {
      progress.end();
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onInterrupt);
    }

    if (flags.json) console.log(JSON.stringify(summary, null, 2));
    else console.log(formatSummary(summary));
    // Interrupted before anything was answered: the user stopped it, nothing failed.
    if (summary.requests === 0 && summary.stoppedBy === 'interrupt') return 130;
    if (summary.ok === 0) {
      const why = summary.firstError ? ` (first error: ${summary.firstError})` : '';
      console.error(
        `modelship load: no request succeeded: ${summary.errors} of ${summary.requests} failed${why}`,
      );
      return 1;
    }
    return 0;
  },
};

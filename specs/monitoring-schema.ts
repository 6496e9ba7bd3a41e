/**
 * `spec.monitoring`: how a model is watched once it serves all traffic (`MonitorModel`,
 * `workflows/monitor-model.ts`). Every field has a default, so a spec without the block is
 * monitored for input drift, prediction drift and data quality, with findings recorded in the
 * audit log and shown in the Web UI, and no action beyond that until actions are configured.
 *
 * Webhook URLs are https (plain http only to a loopback address, for tests and sidecars). A
 * token for a webhook comes from the worker's environment, named by `tokenEnv`, and only from a
 * variable whose name starts with `MODELSHIP_WEBHOOK_`: a spec is written by whoever can open a
 * pull request, and must not be able to send any other secret of the worker to a URL of its
 * choosing.
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.ts';
import { MONITORING_DEFAULTS } from './monitoring-defaults.ts';

/** The prefix every webhook token variable must carry; see the module comment. */
export const WEBHOOK_TOKEN_ENV_PREFIX = 'MODELSHIP_WEBHOOK_';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const webhookUrl = z.string().superRefine((text, context) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    context.addIssue({
      code: 'custom',
      message: 'must be an absolute URL such as https://hooks.example.com/modelship',
    });
    return;
  }
  if (url.username || url.password) {
    context.addIssue({ code: 'custom', message: 'must not carry credentials; name a token with tokenEnv' });
  } else if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    context.addIssue({ code: 'custom', message: 'must be https (http only to a loopback address)' });
  }
});

const tokenEnv = z
  .string()
  .regex(
    /^MODELSHIP_WEBHOOK_[A-Z0-9_]+$/,
    `must name an environment variable of the worker starting with ${WEBHOOK_TOKEN_ENV_PREFIX} (e.g. ${WEBHOOK_TOKEN_ENV_PREFIX}GITHUB)`,
  )
  .describe(
    `Environment variable of the worker holding the token sent as "Authorization: Bearer"; its name must start with ${WEBHOOK_TOKEN_ENV_PREFIX}.`,
  );

const Webhook = z.strictObject({
  url: webhookUrl.describe('Where the JSON body is POSTed.'),
  tokenEnv: tokenEnv.optional(),
});

const Retraining = z
  .strictObject({
    url: webhookUrl.describe(
      'Where the retraining request is POSTed: a GitHub `repos/{owner}/{repo}/dispatches` or `repos/{owner}/{repo}/issues` URL, or any webhook.',
    ),
    tokenEnv: tokenEnv.optional(),
    format: z
      .enum(['repository_dispatch', 'issue', 'webhook'])
      .default('webhook')
      .describe(
        'The body: a GitHub repository_dispatch event, a GitHub issue, or the JSON of modelship (docs/monitoring.md).',
      ),
    eventType: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1 to 100 letters, digits, ".", "_" or "-"')
      .default('modelship-retrain')
      .describe('The event_type of a repository_dispatch.'),
  })
  .describe('Open a retraining request, with the drift report and the window of data it rests on.');

const Monitoring = z
  .strictObject({
    enabled: z
      .boolean()
      .default(MONITORING_DEFAULTS.enabled)
      .describe('Watch the model once it serves all traffic.'),
    interval: z
      .string()
      .regex(DURATION_PATTERN, 'must be a duration such as 30s, 5m or 1h')
      .default(MONITORING_DEFAULTS.interval)
      .describe('How often the live statistics are read and judged.'),
    alpha: z
      .number()
      .gt(0, 'must be above 0')
      .max(0.2, 'must be at most 0.2')
      .default(MONITORING_DEFAULTS.alpha)
      .describe(
        'The chance of any false alarm over the whole life of the monitor, however often it looks; shared by all its checks.',
      ),
    minRows: z
      .int()
      .positive()
      .default(MONITORING_DEFAULTS.minRows)
      .describe('Live rows a feature needs before its drift test may raise a finding.'),
    checks: z
      .strictObject({
        inputDrift: z
          .boolean()
          .default(true)
          .describe('Test each input feature against the reference profile.'),
        predictionDrift: z
          .boolean()
          .default(true)
          .describe('Test the predicted-class distribution against the holdout predictions.'),
        dataQuality: z
          .strictObject({
            maxViolationRate: z
              .number()
              .min(0)
              .max(1)
              .default(MONITORING_DEFAULTS.maxViolationRate)
              .describe('Highest acceptable share of rows breaking an input constraint.'),
          })
          .prefault({})
          .describe('Rows breaking spec.interface constraints, as a share of all rows.'),
        performance: z
          .strictObject({
            accuracy: z
              .strictObject({ min: z.number().min(0).max(1).describe('Lowest acceptable live accuracy.') })
              .optional()
              .describe(
                'Floor for live accuracy on fed-back labels (default: validation.metrics.accuracy.min).',
              ),
          })
          .prefault({})
          .describe('Live performance against floors, from labels fed back.'),
      })
      .prefault({})
      .describe('What each look judges.'),
    actions: z
      .strictObject({
        alert: Webhook.optional().describe(
          'POST every finding here (JSON body documented in docs/monitoring.md).',
        ),
        retraining: Retraining.optional(),
        rollback: z
          .boolean()
          .default(MONITORING_DEFAULTS.rollback)
          .describe(
            'Roll back to the version that served before this one when live accuracy on fed-back labels falls below its floor (checks.performance.accuracy). Only measured accuracy sets it off, never drift or an estimate.',
          ),
      })
      .prefault({})
      .describe('What a finding sets off, besides the audit log, the Web UI and Prometheus.'),
  })
  .transform((monitoring) => ({ ...monitoring, intervalMs: parseDuration(monitoring.interval) }))
  .describe('Watching the model in production: drift, data quality and decay.');

/** `spec.monitoring` as written; parse with the whole spec. */
export const MonitoringSchema = Monitoring;
/** `spec.monitoring` after parsing, defaults applied. */
export type MonitoringSpec = z.output<typeof Monitoring>;

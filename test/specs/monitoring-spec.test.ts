/**
 * `spec.monitoring`: defaults that watch every example without configuration, durations parsed
 * once, and webhook settings that a hostile spec cannot turn against the worker (no plain http to
 * other hosts, no credentials in URLs, no token variables outside MODELSHIP_WEBHOOK_*).
 */
import { describe, expect, it } from 'vitest';
import { formatSpecError, parseSpec } from '../../specs/parse.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';

const specWith = (monitoring: string) =>
  exampleSpecYaml({ name: 'iris', dataset: 'iris', version: 'v1', analysis: monitoring });

function errorsOf(monitoring: string): string[] {
  const parsed = parseSpec(specWith(monitoring), { file: 'specs/iris.yaml' });
  return parsed.ok ? [] : parsed.errors.map(formatSpecError);
}

describe('spec.monitoring', () => {
  it('defaults to watching input drift, prediction drift and data quality every 5 minutes at alpha 0.01, with no action', () => {
    const parsed = parseSpec(specWith(''), { file: 'specs/iris.yaml' });
    if (!parsed.ok) throw new Error(parsed.errors.map(formatSpecError).join('\n'));
    expect(parsed.spec.spec.monitoring).toEqual({
      enabled: true,
      interval: '5m',
      intervalMs: 300_000,
      alpha: 0.01,
      minRows: 100,
      checks: {
        inputDrift: true,
        predictionDrift: true,
        dataQuality: { maxViolationRate: 0.01 },
        performance: {},
      },
      actions: { rollback: false },
    });
  });

  it('parses the interval into milliseconds and keeps the actions', () => {
    const parsed = parseSpec(
      specWith(`  monitoring:
    interval: 30s
    alpha: 0.05
    checks:
      performance: { accuracy: { min: 0.9 } }
    actions:
      alert: { url: "https://hooks.example.com/ml" }
      retraining:
        url: "https://api.github.com/repos/acme/models/dispatches"
        tokenEnv: MODELSHIP_WEBHOOK_GITHUB
        format: repository_dispatch
`),
      { file: 'specs/iris.yaml' },
    );
    if (!parsed.ok) throw new Error(parsed.errors.map(formatSpecError).join('\n'));
    const monitoring = parsed.spec.spec.monitoring;
    expect(monitoring.intervalMs).toBe(30_000);
    expect(monitoring.checks.performance.accuracy).toEqual({ min: 0.9 });
    expect(monitoring.actions.retraining).toEqual({
      url: 'https://api.github.com/repos/acme/models/dispatches',
      tokenEnv: 'MODELSHIP_WEBHOOK_GITHUB',
      format: 'repository_dispatch',
      eventType: 'modelship-retrain',
    });
  });

  it.each([
    ['plain http to another host', '      alert: { url: "http://hooks.example.com/x" }', 'must be https'],
    [
      'credentials in the URL',
      '      alert: { url: "https://user:pw@hooks.example.com/x" }',
      'must not carry credentials',
    ],
    ['not a URL', '      alert: { url: "hooks" }', 'must be an absolute URL'],
    [
      'a token variable outside MODELSHIP_WEBHOOK_*',
      '      alert: { url: "https://hooks.example.com/x", tokenEnv: AWS_SECRET_ACCESS_KEY }',
      'starting with MODELSHIP_WEBHOOK_',
    ],
  ])('refuses %s, naming where', (_what, line, message) => {
    const errors = errorsOf(`  monitoring:\n    actions:\n${line}\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^specs\/iris\.yaml:\d+:\d+/);
    expect(errors[0]).toContain('spec.monitoring.actions.alert');
    expect(errors[0]).toContain(message);
  });

  it('takes plain http to a loopback address (a sidecar, a test receiver)', () => {
    expect(
      errorsOf('  monitoring:\n    actions:\n      alert: { url: "http://127.0.0.1:9000/hook" }\n'),
    ).toEqual([]);
  });

  it.each([
    ['alpha: 0', 'must be above 0'],
    ['alpha: 0.5', 'must be at most 0.2'],
    ['interval: 5 minutes', 'must be a duration'],
    ['interval: 50ms', 'interval 50ms must be between 100ms and 1d'],
    ['interval: 2d', 'interval 2d must be between 100ms and 1d'],
    ['minRows: 0', ''],
  ])('refuses %s', (line, message) => {
    const errors = errorsOf(`  monitoring:\n    ${line}\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
  });
});

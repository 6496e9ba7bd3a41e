/**
 * The monitor's findings as Prometheus counters, on the worker's health server (`GET /metrics`):
 * each `monitor.finding` and `monitor.action` decision this worker process recorded. Looks run on
 * whichever worker picks them up, so a dashboard sums over workers
 * (`sum by (model, environment, check, feature) (modelship_monitor_findings_total)`); a worker
 * that restarts starts from zero, which `increase()` and `rate()` read as a counter reset.
 */

interface DecisionFacts {
  deployment: { model: string; environment: string };
  decision: string;
  details?: Record<string, unknown>;
}

const label = (value: unknown) =>
  String(value ?? '')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n');

/** Series stay bounded: one per model, environment, version, check and feature seen. */
export class MonitorMetrics {
  private readonly findings = new Map<string, number>();
  private readonly actions = new Map<string, number>();

  /** Counts a decision the worker recorded; every other decision is ignored. */
  observe(facts: DecisionFacts): void {
    const { model, environment } = facts.deployment;
    const details = facts.details ?? {};
    if (facts.decision === 'monitor.finding') {
      const key = `model="${label(model)}",environment="${label(environment)}",version="${label(details.version)}",check="${label(details.check)}",feature="${label(details.feature)}"`;
      this.findings.set(key, (this.findings.get(key) ?? 0) + 1);
    } else if (facts.decision === 'monitor.action') {
      const key = `model="${label(model)}",environment="${label(environment)}",kind="${label(details.kind)}",outcome="${label(details.outcome)}"`;
      this.actions.set(key, (this.actions.get(key) ?? 0) + 1);
    }
  }

  /** The Prometheus text exposition. */
  render(): string {
    const lines = [
      '# HELP modelship_monitor_findings_total Findings raised by model monitors on this worker (drift, data quality, performance).',
      '# TYPE modelship_monitor_findings_total counter',
      ...[...this.findings].map(([key, count]) => `modelship_monitor_findings_total{${key}} ${count}`),
      '# HELP modelship_monitor_actions_total Alerts, retraining requests and rollbacks of monitors on this worker, by outcome.',
      '# TYPE modelship_monitor_actions_total counter',
      ...[...this.actions].map(([key, count]) => `modelship_monitor_actions_total{${key}} ${count}`),
    ];
    return `${lines.join('\n')}\n`;
  }
}

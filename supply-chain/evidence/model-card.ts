/**
 * The model card of a bundle, from what the package step already holds: the spec's metadata (who
 * owns the model, `metadata.modelCard`: intended use, out of scope, limitations, ethical
 * considerations), the validation report with its analysis and explanations, the declared
 * training provenance and the digests.
 *
 * Two renderings of the same facts. `modelCardConsiderations` is CycloneDX's
 * `modelCard.considerations`, which `model-bom.ts` merges into the card it builds (the metrics are
 * already there, `validation-analysis.ts`), so the signed BOM states what people were told.
 * `modelCardMarkdown` is `MODEL_CARD.md`, read by people: GitHub renders its tables and its
 * Mermaid chart, and `modelship card` prints it.
 *
 * Pure and deterministic: the same input gives the same bytes, so a card can be compared with the
 * manifest's sha256 of it.
 */
import type { ValidationReport } from '../../model/validation-report.ts';
import type { ModelCardSpec, ProvenanceSpec, TensorSpec } from '../../specs/schema.ts';
import type { CdxModelCardConsiderations, CdxProperty } from './cyclonedx.ts';
import type { SpecSource } from './facts.ts';

export interface ModelCardInput {
  model: string;
  environment: string;
  description?: string;
  owners: readonly string[];
  /** `metadata.modelCard`; absent in specs that do not state one, and the card says so. */
  card?: ModelCardSpec;
  interface: { inputs: readonly TensorSpec[]; outputs: readonly TensorSpec[] };
  validation: Pick<
    ValidationReport,
    'passed' | 'metrics' | 'holdoutRows' | 'holdoutSha256' | 'analysis' | 'explanations'
  >;
  holdoutPath: string;
  provenance?: ProvenanceSpec;
  spec: SpecSource;
  bundleDigest: string;
  artifact: { source: string; sha256: string };
  /** The manifest's `createdAt`. */
  createdAt: string;
}

/** Four decimals: what a reader compares, without float noise (as the BOM shows them). */
const show = (value: number) => String(Number(value.toFixed(4)));
const percent = (value: number) => `${Number((value * 100).toFixed(2))} %`;

/** CycloneDX `considerations` from `metadata.modelCard`; undefined when the spec states none. */
export function modelCardConsiderations(
  card: ModelCardSpec | undefined,
): CdxModelCardConsiderations | undefined {
  if (!card) return undefined;
  return {
    useCases: [card.intendedUse],
    // CycloneDX has no field for uses a model is not meant for; they limit it, so they go with
    // the limitations, marked.
    technicalLimitations: [...card.limitations, ...card.outOfScope.map((use) => `Out of scope: ${use}`)],
    ...(card.ethicalConsiderations.length > 0
      ? { ethicalConsiderations: card.ethicalConsiderations.map((name) => ({ name })) }
      : {}),
  };
}

/** The owners as card properties: the model card has no owner field, and approvers ask who owns it. */
export function modelCardOwnerProperties(owners: readonly string[]): CdxProperty[] {
  return owners.map((owner) => ({ name: 'modelship:owner', value: owner }));
}

/** A table cell: pipes and newlines would break the table. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
}

function metricText(value: number, unit: 'ratio' | 'ms'): string {
  return unit === 'ms' ? `${show(value)} ms` : show(value);
}

function headline(input: ValidationView): string[] {
  const { validation } = input;
  const rows = validation.metrics.map((metric) => {
    const floor = metric.threshold
      ? 'min' in metric.threshold
        ? `≥ ${metricText(metric.threshold.min, metric.unit)}`
        : `≤ ${metricText(metric.threshold.max, metric.unit)}`
      : '(none)';
    return [
      metric.name,
      metricText(metric.value, metric.unit),
      floor,
      metric.threshold ? (metric.passed ? 'pass' : '**FAIL**') : 'reported',
    ];
  });
  return [
    '## Headline metrics',
    '',
    `Measured on ${validation.holdoutRows} holdout rows (\`${input.holdoutPath}\`); validation ${validation.passed ? 'passed' : '**failed**'}.`,
    '',
    ...table(['metric', 'value', 'floor', 'result'], rows),
  ];
}

function classSections(input: ValidationView): string[] {
  const analysis = input.validation.analysis;
  if (!analysis)
    return ['## Per class', '', 'Not measured: this bundle was validated before per-class reports.'];
  const { perClass, macro, confusion } = analysis.classes;
  const lines = [
    '## Per class',
    '',
    ...table(
      ['class', 'precision', 'recall', 'F1', 'support', 'predicted'],
      perClass.map((cls) => [
        String(cls.class),
        show(cls.precision),
        show(cls.recall),
        show(cls.f1),
        String(cls.support),
        String(cls.predicted),
      ]),
    ),
    '',
    `Macro average: precision ${show(macro.precision)}, recall ${show(macro.recall)}, F1 ${show(macro.f1)}.`,
  ];
  const worst = [...perClass].sort((a, b) => a.f1 - b.f1 || a.class - b.class)[0];
  if (worst)
    lines.push(`Weakest class: ${worst.class} (F1 ${show(worst.f1)}, recall ${show(worst.recall)}).`);
  const names = confusion.classes.map(String);
  if (confusion.otherClasses > 0) names.push(`other (${confusion.otherClasses})`);
  lines.push(
    '',
    '## Confusion matrix',
    '',
    'Rows are the true class, columns the predicted one.',
    '',
    ...table(
      ['true \\ predicted', ...names],
      confusion.matrix.map((row, t) => [names[t] ?? '?', ...row.map(String)]),
    ),
  );
  return lines;
}

function calibrationSection(input: ValidationView): string[] {
  const calibration = input.validation.analysis?.calibration;
  const lines = ['## Calibration', ''];
  if (!calibration) return [...lines, 'Not measured: the spec names no probability output.'];
  if ('skipped' in calibration)
    return [...lines, `Not measured (output \`${calibration.output}\`): ${calibration.skipped}.`];
  return [
    ...lines,
    `From output \`${calibration.output}\` on ${calibration.rows} rows: expected calibration error ${show(calibration.ece)}, largest bin gap ${show(calibration.maxGap)}, Brier score ${show(calibration.brier)} (0 is perfect).`,
    '',
    ...table(
      ['confidence', 'rows', 'mean confidence', 'accuracy'],
      calibration.bins.map((bin) => [
        `(${show(bin.lower)}, ${show(bin.upper)}]`,
        String(bin.rows),
        show(bin.meanConfidence),
        show(bin.accuracy),
      ]),
    ),
  ];
}

function sliceSection(input: ValidationView): string[] {
  const slices = input.validation.analysis?.slices ?? [];
  const lines = ['## Slices', ''];
  if (slices.length === 0) return [...lines, 'None: the spec names no slice column of the holdout.'];
  for (const slice of slices) {
    const floors = [
      slice.minAccuracy !== undefined ? `accuracy ≥ ${slice.minAccuracy}` : '',
      slice.maxAccuracyGap !== undefined
        ? `at most ${slice.maxAccuracyGap} below the holdout's ${show(slice.holdoutAccuracy)}`
        : '',
    ].filter(Boolean);
    lines.push(
      `### \`${slice.column}\`: ${slice.passed ? 'pass' : `**FAIL** (${slice.failingGroups} group(s) below a floor)`}`,
      '',
      `Floors: ${floors.join('; ') || 'none (reported only)'}; groups of fewer than ${slice.minRows} rows are reported, not judged. ${slice.groupCount} group(s)${slice.groupCount > slice.groups.length ? `, ${slice.groups.length} listed` : ''}.`,
      '',
      ...table(
        ['value', 'rows', 'accuracy', 'macro F1', 'gap', 'result'],
        slice.groups.map((group) => [
          JSON.stringify(group.value),
          String(group.rows),
          show(group.accuracy),
          show(group.f1Macro),
          show(group.gap),
          !group.judged
            ? 'not judged'
            : group.passed
              ? 'pass'
              : `**FAIL** (${(group.below ?? []).join(', ')})`,
        ]),
      ),
      '',
    );
  }
  return lines.slice(0, -1);
}

/** Mermaid text in quotes: a double quote would end it. */
const mermaidText = (text: string) => `"${text.replace(/"/g, "'")}"`;

function importanceSection(input: ValidationView): string[] {
  const { explanations } = input.validation;
  const importance = explanations?.importance;
  const lines = ['## What drives its predictions', ''];
  if (!importance) return [...lines, 'Permutation importance was not measured for this bundle.'];
  // A chart of 20 bars is still readable; the table lists every feature measured.
  const charted = importance.features.slice(0, 20);
  const low = Math.min(0, ...charted.map((feature) => feature.mean));
  const high = Math.max(0.01, ...charted.map((feature) => feature.max));
  lines.push(
    `Permutation importance: the drop in accuracy (from ${show(importance.baseline)}) when one feature's values are shuffled, ${importance.repeats} repeats on ${importance.rows} rows, seed ${importance.seed}${importance.complete ? '' : '; stopped by its time budget, so not every feature was measured'}. Correlated features share their importance.`,
    '',
    '```mermaid',
    'xychart-beta',
    '  title "Permutation importance (drop in accuracy)"',
    `  x-axis [${charted.map((feature) => mermaidText(feature.feature)).join(', ')}]`,
    `  y-axis "drop in accuracy" ${show(low)} --> ${show(high)}`,
    `  bar [${charted.map((feature) => show(feature.mean)).join(', ')}]`,
    '```',
    '',
    ...table(
      ['rank', 'feature', 'mean drop', 'std', 'min', 'max'],
      importance.features.map((feature, rank) => [
        String(rank + 1),
        `\`${feature.feature}\``,
        show(feature.mean),
        show(feature.std),
        show(feature.min),
        show(feature.max),
      ]),
    ),
  );
  if (importance.omittedFeatures > 0) {
    lines.push('', `${importance.omittedFeatures} further feature(s) were not measured (report bound).`);
  }
  return lines;
}

function shiftSection(input: ValidationView, against = 'the stable version'): string[] {
  const { explanations } = input.validation;
  const shift = explanations?.shift;
  const lines = [`## Against ${against}`, ''];
  if (!shift) {
    return [
      ...lines,
      `Not compared: ${explanations?.shiftUnavailable ?? 'this bundle was validated before the comparison existed'}.`,
    ];
  }
  return [
    ...lines,
    `${against === 'the stable version' ? 'Stable version' : 'Compared with'} \`${shift.stable.version}\` (${against === 'the stable version' ? 'bundle' : 'sha256'} \`${shift.stable.bundleDigest.slice(0, 12)}\`): ${shift.overlap} of the top ${shift.k} features shared; Kendall's tau ${shift.kendallTau === null ? 'undefined' : show(shift.kendallTau)} over ${shift.commonFeatures} common features (1 the same order, −1 reversed).`,
    '',
    `- Top ${shift.k}, ${against === 'the stable version' ? 'stable' : 'before'}: ${shift.topStable.map((name) => `\`${name}\``).join(', ') || '(none)'}`,
    `- Top ${shift.k}, this version: ${shift.topCandidate.map((name) => `\`${name}\``).join(', ') || '(none)'}`,
    ...(shift.entered.length > 0
      ? [`- Entered the top: ${shift.entered.map((name) => `\`${name}\``).join(', ')}`]
      : []),
    ...(shift.left.length > 0
      ? [`- Left the top: ${shift.left.map((name) => `\`${name}\``).join(', ')}`]
      : []),
  ];
}

function provenanceSection(input: ModelCardInput): string[] {
  const lines = ['## Training provenance', ''];
  const { provenance } = input;
  const data = provenance?.trainingData ?? [];
  const code = provenance?.trainingCode ?? [];
  if (data.length === 0 && code.length === 0) {
    return [...lines, 'Not declared: the spec has no `spec.provenance`.'];
  }
  const entry = (item: { uri: string; sha256?: string | undefined; commit?: string | undefined }) =>
    `- \`${item.uri}\`${item.sha256 ? `, sha256 \`${item.sha256}\`` : ''}${item.commit ? `, commit \`${item.commit}\`` : ''}`;
  if (data.length > 0) lines.push('Training data:', '', ...data.map(entry), '');
  if (code.length > 0) lines.push('Training code:', '', ...code.map(entry), '');
  return lines.slice(0, -1);
}

function considerationSection(card: ModelCardSpec | undefined): string[] {
  if (!card) {
    return [
      '## Intended use and limitations',
      '',
      'Not stated: the spec has no `metadata.modelCard`. Ask the owners before relying on this model outside what its validation measured.',
    ];
  }
  const list = (items: readonly string[]) => items.map((item) => `- ${item}`);
  return [
    '## Intended use',
    '',
    card.intendedUse,
    ...(card.outOfScope.length > 0 ? ['', '**Not for:**', '', ...list(card.outOfScope)] : []),
    '',
    '## Limitations',
    '',
    ...list(card.limitations),
    ...(card.ethicalConsiderations.length > 0
      ? ['', '## Ethical considerations', '', ...list(card.ethicalConsiderations)]
      : []),
  ];
}

/** What the validation sections of a card read: the report and where its holdout is. */
type ValidationView = Pick<ModelCardInput, 'validation' | 'holdoutPath'>;

/**
 * The validation report as Markdown a reviewer reads at a glance: the headline metrics, per
 * class, the confusion matrix, calibration, slices, importance (with a Mermaid chart GitHub
 * draws) and its shift against the version it replaces (`against`). The card's own sections; the
 * PR plan shows them too, with headings one level deeper (`headingLevel`).
 */
export function validationMarkdown(
  view: ValidationView,
  options: { headingLevel?: number; against?: string } = {},
): string[] {
  const level = options.headingLevel ?? 2;
  const sections = [
    headline(view),
    classSections(view),
    calibrationSection(view),
    sliceSection(view),
    importanceSection(view),
    shiftSection(view, options.against),
  ];
  return sections
    .flatMap((lines, index) => (index === 0 ? lines : ['', ...lines]))
    .map((line) =>
      line.replace(/^(#{2,3}) /, (_, hashes: string) => `${'#'.repeat(hashes.length - 2 + level)} `),
    );
}

/** `MODEL_CARD.md`: see the module comment. */
export function modelCardMarkdown(input: ModelCardInput): string {
  const tensor = (t: TensorSpec) => `\`${t.name}: ${t.dtype}[${t.shape.join(', ')}]\``;
  const accuracy = input.validation.metrics.find((metric) => metric.name === 'accuracy');
  const sections = [
    [
      `# Model card: ${input.model}`,
      '',
      ...(input.description ? [input.description, ''] : []),
      `- Owners: ${input.owners.join(', ')}`,
      `- Environment: ${input.environment}; bundle \`${input.bundleDigest.slice(0, 12)}\`, packaged ${input.createdAt}`,
      `- Task: classification; inputs ${input.interface.inputs.map(tensor).join(', ')}; outputs ${input.interface.outputs.map(tensor).join(', ')}`,
      ...(accuracy ? [`- Holdout accuracy: ${percent(accuracy.value)}`] : []),
    ],
    considerationSection(input.card),
    validationMarkdown(input),
    provenanceSection(input),
    [
      '## Digests',
      '',
      `- Bundle: \`${input.bundleDigest}\``,
      `- Model (\`${input.artifact.source}\`): sha256 \`${input.artifact.sha256}\``,
      `- Spec: \`${input.spec.path}\` at commit \`${input.spec.commit}\`${input.spec.repository ? ` of ${input.spec.repository}` : ''}`,
      `- Holdout (\`${input.holdoutPath}\`): sha256 \`${input.validation.holdoutSha256}\``,
      '',
      'The signed `bom.cdx.json` beside this file states the same card as CycloneDX (`metadata.component.modelCard`).',
    ],
  ];
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

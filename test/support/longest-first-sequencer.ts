import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order in which test files start: the `workflows` project first, then `unit`, and within
 * each the longest files first.
 *
 * Vitest's own order runs `unit` (files that mostly compute) and then `workflows` (files that
 * mostly wait: on Temporal, on rollouts' timers, on servers), so its second half left a core idle
 * while the longest journeys ran, and the run ended on whichever journey started last. Starting
 * the long waiting files first lets the short computing ones fill the cores around them and end
 * the run. Projects are not interleaved file by file: a worker process that finishes a file of
 * one project and is handed one of another is replaced by a new process, which imports the SDK,
 * onnxruntime and the product again (measured: a tenth more CPU for the whole run).
 *
 * A file's length is its duration in Vitest's results cache when it has one (a checkout that has
 * run the suite); on a fresh clone (CI) it is estimated from the file's size. The order changes
 * only when files start, never what they assert.
 */
export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const expected = new Map(files.map((file) => [file, this.expectedMs(file)]));
    return [...files].sort(
      (a, b) =>
        projectRank(a) - projectRank(b) ||
        a.project.name.localeCompare(b.project.name) ||
        (expected.get(b) ?? 0) - (expected.get(a) ?? 0),
    );
  }

  private expectedMs(file: TestSpecification): number {
    const key = `${file.project.name}:${relative(this.ctx.config.root, file.moduleId)}`;
    const cached = this.ctx.cache.getFileTestResults(key);
    if (cached) return cached.duration;
    const bytes = this.ctx.cache.getFileStats(key)?.size ?? 0;
    return bytes * (MS_PER_BYTE[file.project.name] ?? UNIT_MS_PER_BYTE);
  }
}

/** Projects in the order they start; one not listed starts after them. */
const PROJECT_ORDER = ['workflows', 'unit', 'unit-isolated'];

function projectRank(file: TestSpecification): number {
  const rank = PROJECT_ORDER.indexOf(file.project.name);
  return rank === -1 ? PROJECT_ORDER.length : rank;
}

/**
 * Milliseconds of a file's duration per byte of its source, per project, from a full run on two
 * cores: a `workflows` file starts servers and waits on timers, about eight times a `unit` file's
 * length per byte. Used only for a file the results cache does not know, to place it among those
 * it does.
 */
const UNIT_MS_PER_BYTE = 0.25;
const MS_PER_BYTE: Record<string, number> = { unit: UNIT_MS_PER_BYTE, workflows: 2.1 };

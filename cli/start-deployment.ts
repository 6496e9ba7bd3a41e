/**
 * DeployModel's input for a spec file: parse it (errors stop here, before Temporal sees
 * anything) and find its commit. `gitops/start-deployment.ts` starts the run, for `deploy` and
 * `dev` as for `apply`.
 */
import { readFile } from 'node:fs/promises';
import { formatSpecError, parseSpec } from '../specs/parse.ts';
import { repoFileExists, repoFileReader } from '../specs/parse-file.ts';
import type { DeployModelInput } from '../workflows/deploy-model.ts';
import { CliError } from './command.ts';
import { locateSpec } from './git-context.ts';

/**
 * Reads, parses and locates a spec file; throws a CliError listing every spec error. The run
 * names the repository workers fetch the commit from: `repository` when given, else the
 * checkout itself by path, which a worker on this machine fetches from (`deploy` and `dev` are
 * the single-machine commands; `apply` names a URL, see `gitops/repository-url.ts`).
 */
export async function loadDeploymentInput(file: string, repository?: string): Promise<DeployModelInput> {
  const location = await locateSpec(file);
  if (location.dirty) {
    throw new CliError(
      `${file} has changes that are not committed; workers deploy commits (they fetch ${location.commit.slice(0, 12)} themselves): commit the spec first`,
    );
  }
  let specText: string;
  try {
    specText = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const parsed = parseSpec(specText, {
    file,
    fileExists: repoFileExists(location.repoRoot),
    readFile: repoFileReader(location.repoRoot),
  });
  if (!parsed.ok) {
    throw new CliError(parsed.errors.map(formatSpecError).join('\n'), 1);
  }
  return {
    spec: parsed.spec,
    // The effective spec: for a spec over a base, the two merged; what the worker deploys.
    specText: parsed.text,
    deployment: {
      model: parsed.spec.metadata.name,
      environment: parsed.spec.spec.rollout.environment,
      commit: location.commit,
      specPath: location.specPath,
      repository: repository ?? location.repoRoot,
      author: location.author,
    },
  };
}

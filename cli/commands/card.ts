/**
 * `modelship card <model> --env <environment>`: the model card of the version serving there, and
 * `modelship card --bundle DIR` for any bundle directory. The audit log says which bundle serves
 * (the same fold `modelship history` prints, so a version restored by a rollback is the one
 * shown, not the newest promoted); the card is the bundle's own `MODEL_CARD.md`, or with `--json`
 * the `modelCard` of its signed `bom.cdx.json`, so what is printed is what was packaged.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { foldServingHistory, type HistoryKey } from '../../audit/serving-history.ts';
import { AuditStoreError, AuditStoreNotFoundError, defaultAuditHome } from '../../audit/store.ts';
import {
  BOM_FILE,
  BUNDLE_ARTIFACT_TYPE,
  bundleRepository,
  MANIFEST_FILE,
  MODEL_CARD_FILE,
  versionForBundle,
  versionTag,
} from '../../domain/bundle-format.ts';
import { deploymentLabel } from '../../domain/deployment.ts';
import { hasErrorCode, sha256Hex } from '../../model/files.ts';
import { pullArtifact } from '../../oci/artifact.ts';
import { parseImageManifest } from '../../oci/descriptor.ts';
import { bundleStores } from '../../oci/environment-stores.ts';
import { OciError } from '../../oci/errors.ts';
import { loadConfig } from '../../worker/config.ts';
import { AUDIT_READER_OPTIONS, withAuditReader } from '../audit-reader.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship card <model> --env <environment> [--json]
       modelship card --bundle DIR [--json]

Prints the model card of the version of <model> that serves all traffic in <environment> (from
the audit log, as \`modelship history\` reads it), from its bundle under
$MODELSHIP_HOME/bundles/<digest>/: what the model is for and its limits, the validation report
(headline metrics and floors, per class, confusion matrix, calibration, slices), what drives its
predictions, the shift against the version before it, training provenance and digests.

Options:
  --env ENV     the environment (required with <model>)
  --bundle DIR  print the card of this bundle directory instead
  --json        the CycloneDX modelCard of the bundle's bom.cdx.json instead of the Markdown
  --home DIR    state directory holding audit.db and bundles/ (default $MODELSHIP_HOME, else .modelship)
  --url URL     PostgreSQL audit log instead (default $MODELSHIP_AUDIT_URL)

The bundle is read from <home>/bundles when it was packaged on this machine, else pulled from
the environment's OCI store (MODELSHIP_REGISTRY_URLS / MODELSHIP_REGISTRY_URL with
MODELSHIP_REGISTRY_* credentials, as the workers and replicas use; with none, <home>/oci).`;

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...AUDIT_READER_OPTIONS,
        env: { type: 'string' },
        bundle: { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    const json = values.json === true;
    if (typeof values.bundle === 'string') {
      if (positionals.length > 0 || typeof values.env === 'string') {
        throw new CliError(`card: give a model with --env, or --bundle, not both\n\n${USAGE}`);
      }
      console.log(await readCard(resolve(values.bundle), json, `bundle ${resolve(values.bundle)}`));
      return 0;
    }
    const [model, ...extra] = positionals;
    if (model === undefined || extra.length > 0 || typeof values.env !== 'string') {
      throw new CliError(`card: name one model and --env, or give --bundle DIR\n\n${USAGE}`);
    }
    const key: HistoryKey = { model, environment: values.env };
    const label = deploymentLabel(key);
    let digest: string;
    try {
      digest = await withAuditReader(values, 'card', async (store) => {
        const records = await store.list(key);
        if (records.length === 0) {
          const elsewhere = [...new Set((await store.list({ model })).map((record) => record.environment))];
          throw new CliError(
            `card: the audit log at ${store.location} has no record of ${label}; ${
              elsewhere.length > 0
                ? `${model} is known in: ${elsewhere.sort().join(', ')}`
                : `no record names the model ${model} (check its name, or whether MODELSHIP_HOME, --home or --url point at the log the workers write)`
            }`,
            1,
          );
        }
        const { periods } = foldServingHistory(records, key);
        const serving = periods.find((period) => period.role === 'stable' && period.to === null);
        if (!serving) {
          const last = periods.find((period) => period.role === 'stable');
          throw new CliError(
            `card: no version of ${label} serves now${last ? ` (the last, ${last.version}, stopped at ${last.to}; \`modelship card --bundle\` prints any bundle)` : ''}`,
            1,
          );
        }
        if (!serving.bundleDigest) {
          throw new CliError(
            `card: ${label} serves version ${serving.version}, but the audit log does not name its bundle digest (a run from before digests were recorded)`,
            1,
          );
        }
        return serving.bundleDigest;
      });
    } catch (error) {
      if (error instanceof AuditStoreNotFoundError || error instanceof AuditStoreError) {
        throw new CliError(`card: ${error.message}`, 1);
      }
      throw error;
    }
    const home = defaultAuditHome({
      MODELSHIP_HOME: typeof values.home === 'string' ? values.home : process.env.MODELSHIP_HOME,
    });
    const what = `${label} serves bundle ${digest.slice(0, 12)}`;
    const local = join(home, 'bundles', digest);
    if (await exists(join(local, MANIFEST_FILE))) {
      console.log(await readCard(local, json, what));
      return 0;
    }
    // Not packaged on this machine: pulled from the environment's store, as a replica would.
    console.log(await readCardFromStore({ home, environment: key.environment, model, digest, json, what }));
    return 0;
  },
};

/**
 * The card of the bundle `digest` pulled from the environment's OCI store (its registry,
 * `MODELSHIP_REGISTRY_URLS` / `MODELSHIP_REGISTRY_URL`, or the layout under `<home>/oci`): found
 * by its version tag, checked to be that bundle, pulled verified into a temporary directory and
 * read there, its card checked against the pulled manifest.
 */
async function readCardFromStore(input: {
  home: string;
  environment: string;
  model: string;
  digest: string;
  json: boolean;
  what: string;
}): Promise<string> {
  const { store } = bundleStores({ home: input.home, registry: loadConfig().registry }).storeFor(
    input.environment,
  );
  const repository = bundleRepository(input.model);
  const tag = versionTag(input.environment, versionForBundle(input.digest));
  const where = `${repository}:${tag} in ${store.describe()}`;
  const scratch = await mkdtemp(join(tmpdir(), 'modelship-card-'));
  try {
    const fetched = await store.fetchManifest(repository, { tag });
    const manifest = parseImageManifest(fetched.bytes, where);
    if (
      manifest.artifactType !== BUNDLE_ARTIFACT_TYPE ||
      manifest.annotations?.['vnd.modelship.bundle.digest'] !== input.digest
    ) {
      throw new CliError(`card: ${input.what}, but ${where} is another artifact than that bundle`, 1);
    }
    const target = join(scratch, 'bundle');
    await pullArtifact(store, {
      repository,
      digest: fetched.descriptor.digest,
      targetDir: target,
      expectArtifactType: BUNDLE_ARTIFACT_TYPE,
    });
    return await readCard(target, input.json, `${input.what} (pulled from ${where})`);
  } catch (error) {
    if (error instanceof OciError) {
      throw new CliError(
        `card: ${input.what}, which is not in ${input.home}/bundles, and it could not be pulled from ${where}: ${error.message}`,
        1,
      );
    }
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The card of the bundle in `dir`; `what` names it in errors, with the path that was looked at. */
async function readCard(dir: string, json: boolean, what: string): Promise<string> {
  const file = join(dir, json ? BOM_FILE : MODEL_CARD_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!hasErrorCode(error, 'ENOENT', 'ENOTDIR')) throw error;
    const bundleThere = await readFile(join(dir, MANIFEST_FILE)).then(
      () => true,
      () => false,
    );
    throw new CliError(
      bundleThere
        ? `card: ${what}, but it has no ${json ? BOM_FILE : MODEL_CARD_FILE} (looked at ${file}): it was packaged before model cards${json ? '' : "; --json prints the BOM's modelCard"}`
        : `card: ${what}, but that bundle is not on this machine (looked in ${dir}; set --home or MODELSHIP_HOME to the home the workers package into)`,
      1,
    );
  }
  if (!json) {
    // Outside the bundle digest, the card is kept honest by the manifest's sha256 of it.
    const listed = await readFile(join(dir, MANIFEST_FILE), 'utf8')
      .then((manifest) => (JSON.parse(manifest) as { modelCard?: { sha256?: unknown } }).modelCard?.sha256)
      .catch(() => undefined);
    if (typeof listed === 'string' && listed !== sha256Hex(text)) {
      throw new CliError(
        `card: ${file} has sha256 ${sha256Hex(text)}, but ${join(dir, MANIFEST_FILE)} lists ${listed}: it was changed after packaging`,
        1,
      );
    }
    return text.trimEnd();
  }
  const bom = JSON.parse(text) as { metadata?: { component?: { modelCard?: unknown } } };
  const card = bom.metadata?.component?.modelCard;
  if (!card) throw new CliError(`card: ${file} holds no metadata.component.modelCard`, 1);
  return JSON.stringify(card, null, 2);
}

/**
 * What the bundled onnxruntime-node can load: the newest IR version and, per operator domain,
 * the newest opset. A model stamped newer is refused by the scan, before onnxruntime sees it,
 * with a message that says which number is too new and what the runtime takes.
 *
 * Where the numbers come from: onnxruntime refuses a model whose `ir_version` is above the IR
 * version of the ONNX library it was built with (`Model::Model` in
 * onnxruntime/core/graph/model.cc: "Unsupported model IR version: N, max supported IR version:
 * M"), and an opset above the last released opset of a domain it knows
 * (`ValidateOpsetForDomain` in onnxruntime/core/graph/model_load_utils.h: "Current official
 * support for domain ai.onnx is till opset N"; the environment variable
 * ALLOW_RELEASED_ONNX_OPSET_ONLY=0 turns that into a warning, and validation sets it to 1).
 * Those limits are compiled in, and ONNX Runtime's published version matrix stops before 1.30,
 * so the values below were read from onnxruntime-node 1.30.0 itself: loading models stamped
 * IR 13 / opset 26 / ai.onnx.ml 5 / ai.onnx.training 1 succeeds and one step above each fails
 * with the messages quoted. `test/activities/onnx-versions.test.ts` proves them against the
 * installed runtime on every run, and fails when the installed version differs from
 * `BUNDLED_ONNXRUNTIME_VERSION`, so an upgrade cannot silently change what the scan lets
 * through.
 */
import type { ScanFinding } from './findings.ts';
import type { ModelProto } from './proto.ts';
import { functionLabel } from './walk.ts';

/** The onnxruntime-node version these limits were read from (node_modules/onnxruntime-node). */
export const BUNDLED_ONNXRUNTIME_VERSION = '1.30.0';

/** Newest `ModelProto.ir_version` the bundled onnxruntime loads. */
export const MAX_IR_VERSION = 13;

/** IR version 3 introduced opset imports; anything older predates what ONNX Runtime loads. */
export const MIN_IR_VERSION = 3;

/**
 * Newest opset per domain the bundled onnxruntime loads. `""` and `ai.onnx` are the same domain;
 * onnxruntime itself only checks the ceiling under `""` and lets `ai.onnx` above it through, so
 * the scan is stricter there on purpose. Domains not listed here (vendor domains) have no version
 * ceiling in onnxruntime; the operator check decides whether they are allowed at all.
 */
export const MAX_OPSET_VERSIONS: Readonly<Record<string, number>> = {
  'ai.onnx': 26,
  'ai.onnx.ml': 5,
  'ai.onnx.training': 1,
};

/** onnxruntime only guarantees `ai.onnx` opsets from 7 up; older ones load with a warning. */
const MIN_GUARANTEED_ONNX_OPSET = 7;

const canonicalDomain = (domain: string) => (domain === '' ? 'ai.onnx' : domain);

/** IR version and opset imports (the model's and every function's) against the limits above. */
export function checkVersions(model: ModelProto): ScanFinding[] {
  const findings: ScanFinding[] = [];
  const runtime = `the bundled onnxruntime ${BUNDLED_ONNXRUNTIME_VERSION}`;
  if (model.irVersion > MAX_IR_VERSION) {
    findings.push({
      check: 'versions',
      severity: 'error',
      message: `ir_version is ${model.irVersion}; ${runtime} loads IR versions up to ${MAX_IR_VERSION}`,
    });
  }
  const imports = [
    { where: 'model', opsets: model.opsetImport },
    ...model.functions.map((fn, index) => ({ where: functionLabel(fn, index), opsets: fn.opsetImport })),
  ];
  for (const { where, opsets } of imports) {
    for (const { domain, version } of opsets) {
      const name = canonicalDomain(domain);
      const max = MAX_OPSET_VERSIONS[name];
      const location = where === 'model' ? 'opset_import' : `${where}/opset_import`;
      if (max !== undefined && version > max) {
        findings.push({
          check: 'versions',
          severity: 'error',
          message: `opset_import ${JSON.stringify(domain)} version ${version}: ${runtime} loads ${name} up to opset ${max}`,
          location,
        });
      } else if (name === 'ai.onnx' && version < MIN_GUARANTEED_ONNX_OPSET) {
        findings.push({
          check: 'versions',
          severity: 'warning',
          message: `opset_import ${JSON.stringify(domain)} version ${version}: onnxruntime only guarantees ai.onnx opsets from ${MIN_GUARANTEED_ONNX_OPSET} up`,
          location,
        });
      }
    }
  }
  return findings;
}

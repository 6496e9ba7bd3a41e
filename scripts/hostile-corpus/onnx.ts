/**
 * Hostile corpus, ONNX part: model files the scan step must refuse before onnxruntime ever sees
 * them. Each case is `<outDir>/<case>/model/model.onnx` (plus the external-data files and
 * symlinks it needs) and `<outDir>/<case>/case.json` naming the scan check that must fail and a
 * substring of its finding.
 *
 * Every model is written with `encodeModel`, so the bytes are the same on every run, and each is
 * a loadable model but for the one thing the case is about.
 */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScanCheckName } from '../../model/findings.ts';
import {
  AttributeType,
  encodeModel,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type ProtoInit,
  type TensorProto,
} from '../../model/proto.ts';

/** What a corpus runner reads: the scan must fail `check` with a finding containing `finding`. */
export interface OnnxCase {
  description: string;
  step: 'scan';
  check: ScanCheckName;
  finding: string;
}

type Graph = ProtoInit<GraphProto>;
type Node = ProtoInit<NodeProto>;
type Model = ProtoInit<ModelProto>;

const FLOAT = 1;
const INT64 = 7;

const floatVector = (name: string) => ({
  name,
  type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 4 }] } } },
});

/** `y = Identity(x)` plus extra nodes and initializers. */
function graph(extra: { name?: string; nodes?: Node[]; initializer?: ProtoInit<TensorProto>[] } = {}): Graph {
  return {
    name: extra.name ?? 'main',
    node: [{ name: 'identity', opType: 'Identity', input: ['x'], output: ['y'] }, ...(extra.nodes ?? [])],
    input: [floatVector('x')],
    output: [floatVector('y')],
    initializer: extra.initializer ?? [],
  };
}

function model(overrides: Model = {}): Uint8Array {
  return encodeModel({
    irVersion: 8,
    producerName: 'modelship-hostile-corpus',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 17 }],
    graph: graph(),
    ...overrides,
  });
}

/** A FLOAT [4] initializer (16 bytes) whose data lives in another file. */
function externalWeights(entries: Record<string, string>, dims = [4]): ProtoInit<TensorProto> {
  return {
    name: 'W',
    dims,
    dataType: FLOAT,
    dataLocation: 1,
    externalData: Object.entries(entries).map(([key, value]) => ({ key, value })),
  };
}

const withWeights = (entries: Record<string, string>) =>
  model({ graph: graph({ initializer: [externalWeights(entries)] }) });

/** A subgraph for a control-flow attribute: reads `x` from the outer scope, adds `nodes`. */
function branch(name: string, nodes: Node[] = []): Graph {
  return {
    name,
    node: [{ opType: 'Identity', input: ['x'], output: [`${name}_out`] }, ...nodes],
    output: [floatVector(`${name}_out`)],
  };
}

/** An If node whose then-branch is `inner` and whose else-branch is a plain branch. */
function ifNode(name: string, inner: Graph): Node {
  return {
    name,
    opType: 'If',
    input: ['cond'],
    output: [`${name}_out`],
    attribute: [
      { name: 'then_branch', type: AttributeType.GRAPH, g: inner },
      { name: 'else_branch', type: AttributeType.GRAPH, g: branch(`${name}_else`) },
    ],
  };
}

/** If_1 in the main graph, If_2 in If_1's then-branch, ..., If_levels innermost. */
function nestedIfs(levels: number): Node {
  let inner = branch(`level_${levels}`);
  for (let level = levels; level > 1; level -= 1) {
    inner = branch(`level_${level - 1}`, [ifNode(`If_${level}`, inner)]);
  }
  return ifNode('If_1', inner);
}

/** A chain of `count` Identity nodes after the graph's own. */
function identityChain(count: number): Node[] {
  return Array.from({ length: count }, (_, i) => ({
    opType: 'Identity',
    input: [i === 0 ? 'y' : `c${i - 1}`],
    output: [`c${i}`],
  }));
}

const text = (value: string) => new TextEncoder().encode(value);

/** One case: its model directory's files, and what the scan must say. */
interface CaseDefinition extends OnnxCase {
  name: string;
  /** Writes `model/model.onnx` and whatever else the case needs into the case directory. */
  build(caseDir: string, modelDir: string): Promise<void>;
}

const onlyModel = (bytes: Uint8Array) => async (_caseDir: string, modelDir: string) => {
  await writeFile(join(modelDir, 'model.onnx'), bytes);
};

const CASES: CaseDefinition[] = [
  {
    name: 'external-data-traversal',
    description: 'an initializer whose external data is "../secrets.bin", one directory above the bundle',
    step: 'scan',
    check: 'external-data',
    finding: 'reads external data from "../secrets.bin", which contains a ".." segment',
    build: onlyModel(withWeights({ location: '../secrets.bin', offset: '0', length: '16' })),
  },
  {
    name: 'external-data-absolute',
    description: 'an initializer reading its bytes from /etc/passwd',
    step: 'scan',
    check: 'external-data',
    finding: 'reads external data from "/etc/passwd", which is an absolute path',
    build: onlyModel(withWeights({ location: '/etc/passwd' })),
  },
  {
    name: 'external-data-symlink-escape',
    description: 'weights.bin inside the bundle is a symlink to a file outside it',
    step: 'scan',
    check: 'external-data',
    finding: "escapes the model's directory",
    async build(caseDir, modelDir) {
      await mkdir(join(caseDir, 'outside'), { recursive: true });
      await writeFile(join(caseDir, 'outside', 'secret.bin'), new Uint8Array(16));
      await symlink('../outside/secret.bin', join(modelDir, 'weights.bin'));
      await writeFile(
        join(modelDir, 'model.onnx'),
        withWeights({ location: 'weights.bin', offset: '0', length: '16' }),
      );
    },
  },
  {
    name: 'external-data-overrun',
    description: 'external data at offset 8, length 16 in an 8-byte file',
    step: 'scan',
    check: 'external-data',
    finding: 'reads "weights.bin" at offset 8, length 16, past the end of the file (8 bytes)',
    async build(_caseDir, modelDir) {
      await writeFile(join(modelDir, 'weights.bin'), new Uint8Array(8));
      await writeFile(
        join(modelDir, 'model.onnx'),
        withWeights({ location: 'weights.bin', offset: '8', length: '16' }),
      );
    },
  },
  {
    name: 'external-data-length-mismatch',
    description: 'a FLOAT [4] tensor (16 bytes) whose external_data length says 12',
    step: 'scan',
    check: 'external-data',
    finding: 'reads 12 bytes (external_data length) from "weights.bin", but its dims [4] of FLOAT need 16',
    async build(_caseDir, modelDir) {
      await writeFile(join(modelDir, 'weights.bin'), new Uint8Array(16));
      await writeFile(
        join(modelDir, 'model.onnx'),
        withWeights({ location: 'weights.bin', offset: '0', length: '12' }),
      );
    },
  },
  {
    name: 'external-data-duplicate-location',
    description: 'two "location" entries: a safe one first and /etc/shadow second',
    step: 'scan',
    check: 'external-data',
    finding: 'has 2 "location" entries in external_data',
    build: onlyModel(
      model({
        graph: graph({
          initializer: [
            {
              ...externalWeights({}),
              externalData: [
                { key: 'location', value: 'weights.bin' },
                { key: 'location', value: '/etc/shadow' },
              ],
            },
          ],
        }),
      }),
    ),
  },
  {
    name: 'external-data-memory-address',
    description: "external data naming onnxruntime's in-memory address tag, with an address as offset",
    step: 'scan',
    check: 'external-data',
    finding: "is onnxruntime's in-memory address tag",
    build: onlyModel(
      withWeights({ location: '*/_ORT_MEM_ADDR_/*', offset: '140737488355328', length: '16' }),
    ),
  },
  {
    name: 'constant-external-data',
    description: 'a Constant node whose value tensor reads /etc/shadow',
    step: 'scan',
    check: 'external-data',
    finding: 'reads external data from "/etc/shadow"',
    build: onlyModel(
      model({
        graph: graph({
          nodes: [
            {
              name: 'const',
              opType: 'Constant',
              output: ['c'],
              attribute: [
                {
                  name: 'value',
                  type: AttributeType.TENSOR,
                  t: externalWeights({ location: '/etc/shadow' }),
                },
              ],
            },
          ],
        }),
      }),
    ),
  },
  {
    name: 'custom-domain-operator',
    description: 'a node from the custom operator domain com.evil',
    step: 'scan',
    check: 'operators',
    finding: 'uses operator domain "com.evil", which is not allowed',
    build: onlyModel(
      model({
        graph: graph({
          nodes: [{ name: 'evil', opType: 'Exfiltrate', domain: 'com.evil', input: ['x'], output: ['z'] }],
        }),
      }),
    ),
  },
  {
    name: 'custom-domain-in-loop-body',
    description: 'a custom-domain node hidden in a Loop body inside an If branch',
    step: 'scan',
    check: 'operators',
    finding: 'uses operator domain "com.evil"',
    build: onlyModel(
      model({
        graph: graph({
          nodes: [
            ifNode(
              'branch',
              branch('then', [
                {
                  name: 'loop',
                  opType: 'Loop',
                  input: ['n', 'cond'],
                  output: ['loop_out'],
                  attribute: [
                    {
                      name: 'body',
                      type: AttributeType.GRAPH,
                      g: branch('body', [
                        { name: 'hidden', opType: 'Run', domain: 'com.evil', input: ['x'], output: ['r'] },
                      ]),
                    },
                  ],
                },
              ]),
            ),
          ],
        }),
      }),
    ),
  },
  {
    name: 'custom-domain-in-function',
    description: 'a model-local function whose body calls a custom-domain operator',
    step: 'scan',
    check: 'operators',
    finding: 'node "inside" (com.vendor:Blob) uses operator domain "com.vendor"',
    build: onlyModel(
      model({
        opsetImport: [
          { domain: '', version: 17 },
          { domain: 'local.fns', version: 1 },
        ],
        graph: graph({
          nodes: [{ name: 'call', opType: 'Helper', domain: 'local.fns', input: ['x'], output: ['h'] }],
        }),
        functions: [
          {
            name: 'Helper',
            domain: 'local.fns',
            input: ['a'],
            output: ['b'],
            opsetImport: [{ domain: '', version: 17 }],
            node: [{ name: 'inside', opType: 'Blob', domain: 'com.vendor', input: ['a'], output: ['b'] }],
          },
        ],
      }),
    ),
  },
  {
    name: 'ep-context-node',
    description: 'an EPContext node pointing at a precompiled execution-provider blob in ctx.bin',
    step: 'scan',
    check: 'operators',
    finding: 'is an EPContext node',
    build: onlyModel(
      model({
        opsetImport: [
          { domain: '', version: 17 },
          { domain: 'com.microsoft', version: 1 },
        ],
        graph: graph({
          nodes: [
            {
              name: 'ctx',
              opType: 'EPContext',
              domain: 'com.microsoft',
              input: ['x'],
              output: ['z'],
              attribute: [
                { name: 'embed_mode', type: AttributeType.INT, i: 0 },
                { name: 'ep_cache_context', type: AttributeType.STRING, s: text('ctx.bin') },
              ],
            },
          ],
        }),
      }),
    ),
  },
  {
    name: 'attribute-names-file',
    description: 'a standard-domain node carrying a "library_path" attribute',
    step: 'scan',
    check: 'attributes',
    finding: 'attribute "library_path" names a file ("libevil.so")',
    build: onlyModel(
      model({
        graph: graph({
          nodes: [
            {
              name: 'loader',
              opType: 'Identity',
              input: ['x'],
              output: ['z'],
              attribute: [{ name: 'library_path', type: AttributeType.STRING, s: text('libevil.so') }],
            },
          ],
        }),
      }),
    ),
  },
  {
    name: 'attribute-holds-path',
    description: 'a class label that is a parent-directory path',
    step: 'scan',
    check: 'attributes',
    finding: 'holds a file path ("../../etc/passwd")',
    build: onlyModel(
      model({
        opsetImport: [
          { domain: '', version: 17 },
          { domain: 'ai.onnx.ml', version: 3 },
        ],
        graph: graph({
          nodes: [
            {
              name: 'labels',
              opType: 'LabelEncoder',
              domain: 'ai.onnx.ml',
              input: ['k'],
              output: ['v'],
              attribute: [
                { name: 'keys_strings', type: AttributeType.STRINGS, strings: [text('a'), text('b')] },
                {
                  name: 'values_strings',
                  type: AttributeType.STRINGS,
                  strings: [text('setosa'), text('../../etc/passwd')],
                },
              ],
            },
          ],
        }),
      }),
    ),
  },
  {
    name: 'too-many-nodes',
    description: '100 001 Identity nodes, one more than the default limit of 100 000',
    step: 'scan',
    check: 'limits',
    finding: 'the model has 100001 nodes (main graph, subgraphs and functions), over the limit of 100000',
    build: onlyModel(model({ graph: graph({ nodes: identityChain(100_000) }) })),
  },
  {
    name: 'deeply-nested-if',
    description: '12 If nodes, each in the then-branch of the one before (default nesting limit 8)',
    step: 'scan',
    check: 'limits',
    finding: 'subgraphs are nested 12 levels deep, over the limit of 8',
    build: onlyModel(model({ graph: graph({ nodes: [nestedIfs(12)] }) })),
  },
  {
    name: 'oversized-tensor',
    description: 'an initializer declaring 10^12 floats (4 TB) with no data',
    step: 'scan',
    check: 'limits',
    finding:
      'declares [1000000, 1000000] FLOAT, 4000000000000 bytes, over the 1073741824-byte limit per tensor',
    build: onlyModel(
      model({
        graph: graph({ initializer: [{ name: 'huge', dims: [1_000_000, 1_000_000], dataType: FLOAT }] }),
      }),
    ),
  },
  {
    name: 'sparse-densify-bomb',
    description: 'a sparse initializer of one value whose dense shape is 10^10 floats',
    step: 'scan',
    check: 'limits',
    finding: 'declares dense shape [100000, 100000] FLOAT, 40000000000 bytes once densified',
    build: onlyModel(
      model({
        graph: {
          ...graph(),
          sparseInitializer: [
            {
              values: { name: 'sparse', dims: [1], dataType: FLOAT, rawData: new Uint8Array(4) },
              indices: { name: 'sparse_indices', dims: [1], dataType: INT64, rawData: new Uint8Array(8) },
              dims: [100_000, 100_000],
            },
          ],
        },
      }),
    ),
  },
  {
    name: 'raw-data-size-mismatch',
    description: 'a FLOAT [4] initializer carrying 12 bytes of raw_data',
    step: 'scan',
    check: 'structure',
    finding: 'carries 12 bytes of raw_data, but its dims [4] of FLOAT need 16',
    build: onlyModel(
      model({
        graph: graph({
          initializer: [{ name: 'W', dims: [4], dataType: FLOAT, rawData: new Uint8Array(12) }],
        }),
      }),
    ),
  },
  {
    name: 'truncated-protobuf',
    description: 'a valid model cut off in the middle of its graph',
    step: 'scan',
    check: 'structure',
    finding: 'not a valid ONNX protobuf',
    build: onlyModel(model().subarray(0, 60)),
  },
  {
    name: 'duplicate-metadata-key',
    description: 'metadata_props setting "license" twice with different values',
    step: 'scan',
    check: 'metadata',
    finding: 'metadata key "license" appears 2 times in the model metadata_props',
    build: onlyModel(
      model({
        metadataProps: [
          { key: 'license', value: 'MIT' },
          { key: 'license', value: 'proprietary, do not deploy' },
        ],
      }),
    ),
  },
  {
    name: 'unsupported-ir-version',
    description: 'ir_version 14, one above what the bundled onnxruntime loads',
    step: 'scan',
    check: 'versions',
    finding: 'ir_version is 14; the bundled onnxruntime 1.30.0 loads IR versions up to 13',
    build: onlyModel(model({ irVersion: 14 })),
  },
  {
    name: 'unsupported-opset',
    description: 'ai.onnx opset 27, one above what the bundled onnxruntime loads',
    step: 'scan',
    check: 'versions',
    finding: 'opset_import "" version 27: the bundled onnxruntime 1.30.0 loads ai.onnx up to opset 26',
    build: onlyModel(model({ opsetImport: [{ domain: '', version: 27 }] })),
  },
  {
    name: 'unsupported-ml-opset',
    description: 'ai.onnx.ml opset 6, one above what the bundled onnxruntime loads',
    step: 'scan',
    check: 'versions',
    finding: 'loads ai.onnx.ml up to opset 5',
    build: onlyModel(
      model({
        opsetImport: [
          { domain: '', version: 17 },
          { domain: 'ai.onnx.ml', version: 6 },
        ],
      }),
    ),
  },
];

/** The cases' names and expectations, for runners that want them without building. */
export const ONNX_CASES: readonly (OnnxCase & { name: string })[] = CASES.map(
  ({ build: _build, ...rest }) => rest,
);

/** Writes every ONNX case under `outDir` (replacing earlier copies of them). */
export async function buildOnnxCases(outDir: string): Promise<void> {
  for (const { name, build, ...spec } of CASES) {
    const caseDir = join(outDir, name);
    await rm(caseDir, { recursive: true, force: true });
    const modelDir = join(caseDir, 'model');
    await mkdir(modelDir, { recursive: true });
    await build(caseDir, modelDir);
    await writeFile(join(caseDir, 'case.json'), `${JSON.stringify(spec, null, 2)}\n`);
  }
}

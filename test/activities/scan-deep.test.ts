import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttributeType, type NodeProto, type ProtoInit } from '../../model/proto.ts';
import { type ScanReport, scanModelFile } from '../../model/scan.ts';
import { externalTensor, graph, ifNode, model } from './onnx-fixtures.ts';
import { tempDir } from './support.ts';

const errors = (report: ScanReport) => report.findings.filter((f) => f.severity === 'error');
const text = (value: string) => new TextEncoder().encode(value);
const FLOAT = 1;

/** Every tensor, node, attribute and subgraph is walked; these pin the exact findings. */
describe('scanModelFile, deep checks', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('scan-deep');
  });
  afterAll(async () => {
    await dir.remove();
  });

  /** Writes the model into its own bundle directory (plus extra files) and scans it. */
  async function scan(
    name: string,
    bytes: Uint8Array,
    options: Parameters<typeof scanModelFile>[1] = {},
    files: Record<string, Uint8Array> = {},
  ): Promise<ScanReport> {
    const bundle = join(dir.path, name);
    await mkdir(bundle, { recursive: true });
    for (const [file, content] of Object.entries(files)) await writeFile(join(bundle, file), content);
    await writeFile(join(bundle, 'model.onnx'), bytes);
    return scanModelFile(join(bundle, 'model.onnx'), options);
  }

  describe('tensors', () => {
    it('compares inline raw_data with the size the dims and data type give', async () => {
      const tensor = (dims: number[], dataType: number, bytes: number) => ({
        name: 'T',
        dims,
        dataType,
        rawData: new Uint8Array(bytes),
      });
      const ok = await scan(
        'raw-ok',
        model({ graph: graph({ initializer: [tensor([2, 3], FLOAT, 24), tensor([5], 22, 3)] }) }),
      );
      expect(errors(ok)).toEqual([]);
      const bad = await scan('raw-bad', model({ graph: graph({ initializer: [tensor([2, 3], 11, 24)] }) }));
      expect(errors(bad)).toEqual([
        {
          check: 'structure',
          severity: 'error',
          message: 'tensor "T" carries 24 bytes of raw_data, but its dims [2, 3] of DOUBLE need 48',
          location: 'graph:main/initializer:T',
        },
      ]);
    });

    it('refuses unknown data types and negative dimensions', async () => {
      const report = await scan(
        'headers',
        model({
          graph: graph({
            initializer: [
              { name: 'odd', dims: [1], dataType: 99 },
              { name: 'neg', dims: [2, -1], dataType: FLOAT },
            ],
          }),
        }),
      );
      expect(errors(report).map((f) => f.message)).toEqual([
        'tensor "odd" has data type 99, which ONNX does not define',
        'tensor "neg" has a negative dimension: dims [2, -1]',
      ]);
    });
  });

  describe('external data on disk', () => {
    const weights = (entries: Record<string, string>, dims = [4]) =>
      model({ graph: graph({ initializer: [{ ...externalTensor('W', entries), dims }] }) });

    it('accepts a range that fits the file and the tensor (with a warning: bundles carry model.onnx)', async () => {
      const report = await scan(
        'ext-ok',
        weights({ location: 'w.bin', offset: '16', length: '16' }),
        {},
        { 'w.bin': new Uint8Array(32) },
      );
      expect(errors(report)).toEqual([]);
      expect(report.findings.map((f) => f.severity)).toEqual(['warning']);
    });

    it.each([
      [
        'overrun',
        { location: 'w.bin', offset: '24', length: '16' },
        'tensor "W" reads "w.bin" at offset 24, length 16, past the end of the file (32 bytes)',
      ],
      [
        'offset-past-end',
        { location: 'w.bin', offset: '40' },
        'tensor "W" reads "w.bin" from offset 40, past the end of the file (32 bytes)',
      ],
      [
        'length-mismatch',
        { location: 'w.bin', length: '32' },
        'tensor "W" reads 32 bytes (external_data length) from "w.bin", but its dims [4] of FLOAT need 16',
      ],
      [
        'remainder-mismatch',
        { location: 'w.bin', offset: '8' },
        'tensor "W" reads the rest of "w.bin" from offset 8 (24 bytes, no external_data length), but its dims [4] of FLOAT need 16',
      ],
    ])('refuses a byte range that does not fit: %s', async (name, entries, message) => {
      const report = await scan(`ext-${name}`, weights(entries), {}, { 'w.bin': new Uint8Array(32) });
      expect(errors(report)).toEqual([
        { check: 'external-data', severity: 'error', message, location: 'graph:main/initializer:W' },
      ]);
    });

    it('refuses a directory, and a symlinked directory that leads outside', async () => {
      const report = await scan('ext-dir', weights({ location: 'sub' }));
      await mkdir(join(dir.path, 'ext-dir', 'sub'));
      const again = await scanModelFile(join(dir.path, 'ext-dir', 'model.onnx'));
      expect(errors(report)).toEqual([]); // missing: only the lexical warning
      expect(errors(again).map((f) => f.message)).toEqual([
        'tensor "W" reads external data from "sub", which is a directory',
      ]);

      await mkdir(join(dir.path, 'outside'), { recursive: true });
      await writeFile(join(dir.path, 'outside', 'w.bin'), new Uint8Array(16));
      const linked = join(dir.path, 'ext-linked-dir');
      await mkdir(linked);
      await symlink('../outside', join(linked, 'data'));
      const escaped = await scan('ext-linked-dir', weights({ location: 'data/w.bin', length: '16' }));
      expect(errors(escaped)[0]?.message).toMatch(
        /^tensor "W" reads external data from "data\/w\.bin", which escapes the model's directory \(it resolves to .*\/outside\/w\.bin\)$/,
      );
    });
  });

  describe('external-data entries', () => {
    it('refuses ambiguous, unknown and non-decimal entries, and string tensors', async () => {
      const entries = [
        { key: 'location', value: 'w.bin' },
        { key: 'offset', value: '0x10' },
        { key: 'length', value: '-1' },
        { key: 'offset', value: '0' },
        { key: 'basepath', value: '/' },
      ];
      const report = await scan(
        'entries',
        model({
          graph: graph({
            initializer: [{ name: 'S', dims: [1], dataType: 8, dataLocation: 1, externalData: entries }],
          }),
        }),
      );
      expect(errors(report).map((f) => f.message)).toEqual([
        'tensor "S" has external_data offset "0x10", which is not a non-negative decimal integer',
        'tensor "S" has external_data length "-1", which is not a non-negative decimal integer',
        'tensor "S" has an unknown external_data key "basepath"',
        'tensor "S" has 2 "offset" entries in external_data; readers disagree on which one counts',
        'tensor "S" is a STRING tensor marked as external data; strings cannot be stored externally',
      ]);
    });
  });

  describe('operators and attributes', () => {
    const epContext: ProtoInit<NodeProto> = {
      name: 'ctx',
      opType: 'EPContext',
      domain: 'com.microsoft',
      input: ['x'],
      output: ['z'],
      attribute: [{ name: 'embed_mode', type: AttributeType.INT, i: 1 }],
    };

    it('refuses EPContext nodes even when their domain is allowed', async () => {
      const report = await scan('ep', model({ graph: graph({ nodes: [epContext] }) }), {
        allowedDomains: ['', 'com.microsoft'],
      });
      expect(errors(report)).toEqual([
        {
          check: 'operators',
          severity: 'error',
          message:
            'node "ctx" (com.microsoft:EPContext) is an EPContext node: precompiled execution-provider blobs are not accepted, ship the original ONNX graph',
          location: 'graph:main/node:ctx',
        },
      ]);
    });

    it('finds file-naming attributes in subgraphs and function defaults, and leaves ordinary strings alone', async () => {
      const report = await scan(
        'attributes',
        model({
          graph: graph({
            nodes: [
              ifNode({
                name: 'cache',
                opType: 'Identity',
                input: ['x'],
                output: ['c'],
                attribute: [{ name: 'cache_dir', type: AttributeType.STRING, s: text('/var/cache/x') }],
              }),
              {
                name: 'enc',
                opType: 'LabelEncoder',
                domain: 'ai.onnx.ml',
                input: ['k'],
                output: ['v'],
                attribute: [
                  {
                    name: 'keys_strings',
                    type: AttributeType.STRINGS,
                    strings: [text('N/A'), text('a..b'), text('setosa')],
                  },
                  { name: 'direction', type: AttributeType.STRING, s: text('forward') },
                ],
              },
            ],
          }),
          functions: [
            {
              name: 'Helper',
              domain: 'local.fns',
              node: [{ opType: 'Relu' }],
              attributeProto: [{ name: 'model_path', type: AttributeType.STRING, s: text('weights.onnx') }],
            },
          ],
        }),
      );
      expect(errors(report).map((f) => [f.message, f.location])).toEqual([
        [
          'node "cache" (Identity) attribute "cache_dir" names a file ("/var/cache/x"); attributes that name files are not accepted, ship the data as tensors',
          'graph:main/node:branch/then_branch/node:cache/cache_dir',
        ],
        [
          'function default attribute "model_path" names a file ("weights.onnx"); attributes that name files are not accepted, ship the data as tensors',
          'function:local.fns.Helper/attribute_proto:model_path',
        ],
      ]);
    });
  });

  describe('limits', () => {
    it('counts nodes everywhere, measures nesting and sizes against the configured limits', async () => {
      const bytes = model({
        graph: graph({
          nodes: [ifNode(ifNode({ opType: 'Relu', input: ['x'], output: ['r'] }))],
          initializer: [
            { name: 'big', dims: [1024, 1024], dataType: FLOAT },
            externalTensor('W', { location: 'w.bin' }),
          ],
        }),
      });
      expect(errors(await scan('limits-default', bytes))).toEqual([]);
      const report = await scan('limits', bytes, {
        maxNodes: 5,
        maxGraphDepth: 1,
        maxTensorBytes: 1024,
        maxExternalDataBytes: 8,
      });
      expect(errors(report).map((f) => [f.message, f.location])).toEqual([
        ['the model has 6 nodes (main graph, subgraphs and functions), over the limit of 5', undefined],
        [
          'subgraphs are nested 2 levels deep, over the limit of 1',
          'graph:main/node:branch/then_branch/node:branch/then_branch',
        ],
        [
          'tensor "big" declares [1024, 1024] FLOAT, 4194304 bytes, over the 1024-byte limit per tensor',
          'graph:main/initializer:big',
        ],
        ['external-data tensors declare 16 bytes in total, over the 8-byte limit', undefined],
      ]);
      expect(report.checks.find((c) => c.name === 'limits')).toEqual({
        name: 'limits',
        passed: false,
        detail: '6 nodes (limit 5), nesting depth 2 (limit 1), largest tensor 4194304 bytes (limit 1024)',
      });
    });
  });

  describe('versions and metadata', () => {
    it('checks the opset imports of functions, and warns about ai.onnx opsets below 7', async () => {
      const report = await scan(
        'function-opsets',
        model({
          opsetImport: [{ domain: '', version: 6 }],
          functions: [
            {
              name: 'F',
              domain: 'local',
              node: [{ opType: 'Relu' }],
              opsetImport: [{ domain: 'ai.onnx.ml', version: 9 }],
            },
          ],
        }),
      );
      expect(report.findings).toEqual([
        {
          check: 'versions',
          severity: 'warning',
          message: 'opset_import "" version 6: onnxruntime only guarantees ai.onnx opsets from 7 up',
          location: 'opset_import',
        },
        {
          check: 'versions',
          severity: 'error',
          message:
            'opset_import "ai.onnx.ml" version 9: the bundled onnxruntime 1.30.0 loads ai.onnx.ml up to opset 5',
          location: 'function:local.F/opset_import',
        },
      ]);
    });

    it('refuses duplicate metadata keys on the model, graphs and nodes', async () => {
      const twice = [
        { key: 'owner', value: 'a' },
        { key: 'owner', value: 'b' },
      ];
      const report = await scan(
        'metadata',
        model({
          metadataProps: [...twice, { key: 'license', value: 'MIT' }],
          graph: {
            ...graph({
              nodes: [{ name: 'n', opType: 'Relu', input: ['x'], output: ['r'], metadataProps: twice }],
            }),
            metadataProps: twice,
          },
        }),
      );
      expect(errors(report).map((f) => [f.message, f.location])).toEqual([
        [
          'metadata key "owner" appears 2 times in the model metadata_props; duplicate keys are ambiguous',
          undefined,
        ],
        [
          'metadata key "owner" appears 2 times in the graph metadata_props; duplicate keys are ambiguous',
          'graph:main',
        ],
        [
          'metadata key "owner" appears 2 times in the node metadata_props; duplicate keys are ambiguous',
          'graph:main/node:n',
        ],
      ]);
    });
  });
});

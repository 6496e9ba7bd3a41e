import { describe, expect, it } from 'vitest';
import { BUNDLE_FILES, parseLooseBundleManifest } from '../../domain/bundle-format.ts';

const DIGEST = 'a'.repeat(64);

describe('the loose manifest a reader relies on', () => {
  it('accepts a schema-1 manifest: a digest and files without sizes, nothing else', () => {
    const manifest = {
      schemaVersion: 1,
      digest: DIGEST,
      files: [{ path: 'model.onnx', sha256: 'b'.repeat(64) }],
    };
    expect(parseLooseBundleManifest(manifest)).toEqual({
      ok: true,
      manifest: { digest: DIGEST, files: [{ path: 'model.onnx', sha256: 'b'.repeat(64) }] },
    });
  });

  it('refuses file entries that point outside the bundle or carry no sha256', () => {
    const parsed = parseLooseBundleManifest({
      digest: DIGEST,
      files: [
        { path: '../../etc/passwd', sha256: 'b'.repeat(64) },
        { path: 'spec.yaml', sha256: 'B'.repeat(64) },
      ],
    });
    expect(parsed).toEqual({
      ok: false,
      errors: [
        'files.0.path: must be a file name inside the bundle, without directories',
        'files.1.sha256: must be a sha256: 64 lowercase hex digits',
      ],
    });
  });

  it('names a missing digest', () => {
    expect(parseLooseBundleManifest({ files: [] })).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^digest: /)],
    });
  });
});

describe('the bundle files', () => {
  it('are the manifest, the content files, the evidence and the model card, sorted', () => {
    expect(BUNDLE_FILES).toEqual([
      'MODEL_CARD.md',
      'bom.cdx.json',
      'bom.sigstore.json',
      'manifest.json',
      'model.onnx',
      'provenance.json',
      'provenance.sigstore.json',
      'spec.yaml',
    ]);
  });
});

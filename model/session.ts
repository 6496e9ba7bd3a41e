/**
 * onnxruntime-node sessions for validation: loading (always from a file path, never a Buffer,
 * so external-data paths resolve against the model's directory and not the worker's working
 * directory), reading the model's signature, and comparing it with `spec.interface`.
 */
import { env, type InferenceSession } from 'onnxruntime-node';
import type { ModelDeployment, TensorSpec } from '../specs/schema.ts';
import { ModelError, ModelErrorKind } from './errors.ts';
import { createInferenceSession } from './onnx-env.ts';

/** One input or output as the model declares it; `-1` stands for a symbolic or unknown dimension. */
export interface TensorSignature {
  name: string;
  /** ONNX Runtime's dtype name (`float32`, `int64`, ...), or `non-tensor` for sequences and maps. */
  dtype: string;
  shape: number[];
}

export interface ModelSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

export type InterfaceSpec = ModelDeployment['spec']['interface'];

/** The onnxruntime-node version that loads and runs models in this process. */
export function onnxruntimeVersion(): string {
  return env.versions.node ?? env.versions.common;
}

/** Loads a model from its file path; any failure is the model's fault and raised as ModelUnloadable. */
export async function loadSession(path: string, label: string): Promise<InferenceSession> {
  try {
    return await createInferenceSession(path, {
      executionProviders: ['cpu'],
      // Warnings (e.g. unused initializers) go to the worker's stderr otherwise, once per load.
      logSeverityLevel: 3,
    });
  } catch (error) {
    throw new ModelError(
      ModelErrorKind.ModelUnloadable,
      `onnxruntime ${onnxruntimeVersion()} cannot load ${label}: ${(error as Error).message}`,
      { path, error: (error as Error).message },
    );
  }
}

function toSignature(meta: InferenceSession.ValueMetadata): TensorSignature {
  if (!meta.isTensor) return { name: meta.name, dtype: 'non-tensor', shape: [] };
  // Symbolic dims come back as strings ('' when the model leaves the dim unnamed).
  const shape = meta.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : -1));
  return { name: meta.name, dtype: meta.type, shape };
}

/** The session's inputs and outputs in declaration order. */
export function signatureOf(session: InferenceSession): ModelSignature {
  return { inputs: session.inputMetadata.map(toSignature), outputs: session.outputMetadata.map(toSignature) };
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function compareTensor(kind: 'input' | 'output', model: TensorSignature, spec: TensorSpec): string[] {
  const subject = `${kind} ${JSON.stringify(spec.name)}`;
  if (model.dtype === 'non-tensor') return [`${subject} is not a tensor in the model`];
  const problems: string[] = [];
  if (model.dtype !== spec.dtype) {
    problems.push(`${subject} has dtype ${model.dtype} in the model, ${spec.dtype} in the spec`);
  }
  if (model.shape.length !== spec.shape.length) {
    problems.push(
      `${subject} has rank ${model.shape.length} in the model ${shapeText(model.shape)}, rank ${spec.shape.length} in the spec ${shapeText(spec.shape)}`,
    );
    return problems;
  }
  spec.shape.forEach((want, axis) => {
    const have = model.shape[axis];
    if (have !== want) {
      problems.push(
        `${subject} dimension ${axis} is ${have === -1 ? 'dynamic (-1)' : have} in the model, ${want === -1 ? 'dynamic (-1)' : want} in the spec (model shape ${shapeText(model.shape)}, spec shape ${shapeText(spec.shape)})`,
      );
    }
  });
  return problems;
}

/**
 * Every difference between the model and `spec.interface`, as sentences. Dimensions must match
 * exactly, -1 meaning dynamic on both sides. Every spec input and output must exist in the model;
 * the model may have extra outputs (callers ignore them) but no extra inputs (callers could not
 * feed them).
 */
export function interfaceMismatches(model: ModelSignature, spec: InterfaceSpec): string[] {
  const problems: string[] = [];
  const sides = [
    ['input', model.inputs, spec.inputs],
    ['output', model.outputs, spec.outputs],
  ] as const;
  for (const [kind, declared, wanted] of sides) {
    const byName = new Map(declared.map((tensor) => [tensor.name, tensor]));
    for (const tensor of wanted) {
      const found = byName.get(tensor.name);
      if (found) {
        problems.push(...compareTensor(kind, found, tensor));
      } else {
        const names = declared.map((t) => JSON.stringify(t.name)).join(', ') || 'none';
        problems.push(
          `${kind} ${JSON.stringify(tensor.name)} is in the spec but not in the model (model ${kind}s: ${names})`,
        );
      }
    }
  }
  const specInputs = new Set(spec.inputs.map((tensor) => tensor.name));
  for (const input of model.inputs) {
    if (!specInputs.has(input.name)) {
      problems.push(`input ${JSON.stringify(input.name)} is required by the model but missing from the spec`);
    }
  }
  return problems;
}

// Writes the peer bench's GGUF files without holding a model in memory: the
// fixture writer lays out the header and tokenizer (buildTinyModel, dataless)
// and each tensor is generated, quantized and written a slab of rows at a time.
// The values are those of test/fixtures/tiny-models.ts for the same seed and
// tensor name, so a bench file and a fixture of the same shape agree.
import * as fs from 'fs';
import * as path from 'path';
import { GgufTensorSpec, writeGguf } from '../../test/fixtures/gguf-writer';
import { WEIGHT_TYPE_ID, WeightType, encodeWeights } from '../../test/fixtures/quantize';
import { SeededRandom, deriveSeed } from '../../test/fixtures/seeded-random';
import { TinyModelSpec, buildTinyModel, tinyModelName } from '../../test/fixtures/tiny-models';
import { PeerFileType, PeerShape, peerModelSpec } from './shapes';

export interface PeerModelFile {
  readonly shape: PeerShape;
  readonly type: PeerFileType;
  readonly path: string;
  readonly bytes: number;
  /** 0 when an earlier run's file was reused. */
  readonly writeMs: number;
}

/** Values generated and encoded per slab: bounded memory whatever the tensor. */
const SLAB_VALUES = 1 << 21;

const TYPE_OF_ID = new Map<number, WeightType>(Object.entries(WEIGHT_TYPE_ID).map(([name, id]) => [id, name as WeightType]));

interface ValueLaw {
  readonly std: number;
  readonly mean: number;
}

/** The scales of tiny-models.ts: O(1) activations through every layer, logits a few units apart. */
function valueLaw(name: string, dims: readonly number[]): ValueLaw {
  if (dims.length === 1) return name.endsWith('_norm.weight') ? { std: 0.1, mean: 1 } : { std: 0.1, mean: 0 };
  const rowLength = dims[0];
  if (name === 'token_embd.weight' || name === 'output.weight') return { std: 2 / Math.sqrt(rowLength), mean: 0 };
  if (/\.attn_[qk]\.weight$/.test(name)) return { std: 1.5 / Math.sqrt(rowLength), mean: 0 };
  return { std: 1 / Math.sqrt(rowLength), mean: 0 };
}

function* tensorSlabs(spec: TinyModelSpec, tensor: GgufTensorSpec, slabValues: number): Generator<Uint8Array> {
  const type = TYPE_OF_ID.get(tensor.ggmlType);
  if (type === undefined) throw new Error(`${tensor.name}: no encoder for ggml type ${tensor.ggmlType}`);
  const rowLength = tensor.dims[0];
  const rows = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
  const rowsPerSlab = Math.max(1, Math.floor(slabValues / rowLength));
  const law = valueLaw(tensor.name, tensor.dims);
  const random = new SeededRandom(deriveSeed(spec.seed, tensor.name));
  for (let row = 0; row < rows; row += rowsPerSlab) {
    const count = Math.min(rowsPerSlab, rows - row) * rowLength;
    yield encodeWeights(type, random.normals(count, law.std, law.mean));
  }
}

export function peerModelFileName(spec: TinyModelSpec): string {
  return `peer-${tinyModelName(spec)}-ctx${spec.contextLength}.gguf`;
}

/**
 * Writes `spec` to `target` a slab at a time: the bytes writeTinyModel would
 * write for the same spec, without its in-memory copy of every weight.
 */
export function writePeerModel(spec: TinyModelSpec, target: string, slabValues = SLAB_VALUES): void {
  const plan = buildTinyModel(spec, { dataless: true });
  const tensors = plan.tensors.map((tensor) => ({ ...tensor, data: () => tensorSlabs(spec, tensor, slabValues) }));
  // Written under a temporary name and renamed, so an interrupted run leaves no truncated file under the final one.
  const staging = `${target}.tmp`;
  writeGguf(staging, { metadata: plan.metadata, tensors });
  fs.renameSync(staging, target);
}

/** The file of `shape` in `type` under `dir`, written unless an earlier run left it there. */
export function ensurePeerModel(shape: PeerShape, type: PeerFileType, dir: string, log: (line: string) => void): PeerModelFile {
  const spec = peerModelSpec(shape, type);
  const target = path.join(dir, peerModelFileName(spec));
  if (fs.existsSync(target)) return { shape, type, path: target, bytes: fs.statSync(target).size, writeMs: 0 };
  fs.mkdirSync(dir, { recursive: true });
  log(`writing ${shape.name} ${type} to ${target}`);
  const started = performance.now();
  writePeerModel(spec, target);
  const writeMs = performance.now() - started;
  const bytes = fs.statSync(target).size;
  log(`  ${(bytes / 1e9).toFixed(2)} GB in ${(writeMs / 1000).toFixed(0)} s`);
  return { shape, type, path: target, bytes, writeMs };
}

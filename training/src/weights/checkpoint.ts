// A trained checkpoint as train.py leaves it: one safetensors file, or a folder of shards
// model-0000k-of-0000n.safetensors (at most 15 MiB each, the size that comes back from the GPU
// machine). A tensor larger than a shard is stored as row ranges "<name>@part<k>", joined here.
import * as fs from 'fs';
import * as path from 'path';
import { NamedTensor, readSafetensors, SafetensorsFile } from './safetensors';

const PART = /^(.*)@part(\d+)$/;

export function readCheckpoint(weights: string): SafetensorsFile {
  const files = fs.statSync(weights).isDirectory()
    ? fs
        .readdirSync(weights)
        .filter((name) => name.endsWith('.safetensors'))
        .sort()
        .map((name) => path.join(weights, name))
    : [weights];
  if (files.length === 0) throw new Error(`${weights} holds no .safetensors files: point --weights at train.py's --out folder`);
  const shards = files.map(readSafetensors);
  const metadata = shards[0].metadata;
  const tensors = new Map<string, NamedTensor>();
  const parts = new Map<string, NamedTensor[]>();
  shards.forEach((shard, i) => {
    if (JSON.stringify(shard.metadata) !== JSON.stringify(metadata)) throw new Error(`${files[i]} belongs to another checkpoint than ${files[0]}`);
    for (const tensor of shard.tensors.values()) {
      const part = PART.exec(tensor.name);
      if (part === null) {
        if (tensors.has(tensor.name)) throw new Error(`${tensor.name} appears in two shards`);
        tensors.set(tensor.name, tensor);
      } else {
        const list = parts.get(part[1]) ?? [];
        list[Number(part[2])] = tensor;
        parts.set(part[1], list);
      }
    }
  });
  for (const [name, list] of parts) tensors.set(name, joinRows(name, list));
  return { tensors, metadata };
}

function joinRows(name: string, list: NamedTensor[]): NamedTensor {
  if (list.some((t) => t === undefined)) throw new Error(`a part of ${name} is missing`);
  const inner = list[0].shape.slice(1);
  if (list.some((t) => t.shape.slice(1).join() !== inner.join())) throw new Error(`the parts of ${name} differ in shape`);
  const rows = list.reduce((n, t) => n + t.shape[0], 0);
  const values = new Float32Array(list.reduce((n, t) => n + t.values.length, 0));
  let at = 0;
  for (const t of list) {
    values.set(t.values, at);
    at += t.values.length;
  }
  return { name, shape: [rows, ...inner], values };
}

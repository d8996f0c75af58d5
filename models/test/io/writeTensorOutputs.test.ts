import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSafetensors, writeTensorOutputs } from '@swapformer/models';
import { errorOf } from '../models/modelFixtures';

const temp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-out-'));

function values(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(Math.sin(i) * 1000) / 7;
  return out;
}

/** Reads a .npy float32 file back: shape from the header dict, data after it. */
function readNpy(file: string): { shape: number[]; data: Float32Array; headerEnd: number } {
  const bytes = fs.readFileSync(file);
  expect(bytes.subarray(0, 6).toString('latin1')).to.equal('\x93NUMPY');
  const length = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + length).toString('latin1');
  expect(header).to.include("'descr': '<f4'").and.include("'fortran_order': False");
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + length, bytes.byteOffset + bytes.length));
  return { shape, data, headerEnd: 10 + length };
}

describe('writeTensorOutputs', () => {
  // more values than one streamed chunk holds, so chunk boundaries are crossed
  const logits = { shape: [1, 3, 70001], data: values(3 * 70001) };

  it('should stream JSON equal to JSON.stringify of the same content, non-finite values as null', () => {
    const dir = temp();
    const odd = { shape: [4], data: new Float32Array([1.5, NaN, Infinity, -0]) };
    writeTensorOutputs(path.join(dir, 'out.json'), { logits, odd }, { operators: ['exact', 'exact'] });
    const text = fs.readFileSync(path.join(dir, 'out.json'), 'utf8');
    const expected = JSON.stringify({ logits: { shape: logits.shape, data: Array.from(logits.data) }, odd: { shape: odd.shape, data: Array.from(odd.data) }, operators: ['exact', 'exact'] });
    expect(text.trimEnd()).to.equal(expected);
    expect(fs.readdirSync(dir)).to.deep.equal(['out.json']);
  });

  it('should write a .npy that numpy reads: 64-byte aligned header, the values in order', () => {
    const dir = temp();
    writeTensorOutputs(path.join(dir, 'out.npy'), { logits });
    const npy = readNpy(path.join(dir, 'out.npy'));
    expect(npy.shape).to.deep.equal(logits.shape);
    expect(npy.headerEnd % 64).to.equal(0);
    expect(Buffer.from(npy.data.buffer).equals(Buffer.from(logits.data.buffer))).to.equal(true);
    writeTensorOutputs(path.join(dir, 'vector.npy'), { v: { shape: [2], data: new Float32Array([1, 2]) } });
    expect(readNpy(path.join(dir, 'vector.npy')).shape).to.deep.equal([2]);
  });

  it('should write every output to .safetensors with the extra fields in the metadata', () => {
    const dir = temp();
    const pooled = { shape: [1, 2], data: new Float32Array([3, 4]) };
    writeTensorOutputs(path.join(dir, 'out.safetensors'), { last_hidden_state: logits, pooler_output: pooled }, { operators: ['exact'] });
    const file = openSafetensors(path.join(dir, 'out.safetensors'));
    expect(file.entries.get('last_hidden_state')!.shape).to.deep.equal(logits.shape);
    expect(Array.from(file.read('pooler_output'))).to.deep.equal([3, 4]);
    expect(JSON.parse(file.metadata.operators)).to.deep.equal(['exact']);
  });

  it('should refuse several outputs in one .npy and an unknown extension, writing nothing', () => {
    const dir = temp();
    const two = { a: logits, b: logits };
    expect(errorOf(() => writeTensorOutputs(path.join(dir, 'x.npy'), two)).message).to.include('a .npy file holds one array; this run has 2 outputs (a, b)');
    expect(errorOf(() => writeTensorOutputs(path.join(dir, 'x.txt'), { logits })).message).to.include('unknown extension ".txt"').and.include('.safetensors');
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });
});

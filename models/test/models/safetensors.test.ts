import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeSafetensors, openSafetensors } from '@swapformer/models';
import { errorOf } from './modelFixtures';

function tempFile(bytes: Buffer | Uint8Array): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-st-')), 'model.safetensors');
  fs.writeFileSync(file, bytes);
  return file;
}

/** A file with a hand-written header and data section. */
function rawFile(header: unknown, data: Buffer): string {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return tempFile(Buffer.concat([length, json, data]));
}

const tensorsFixture = new Map([
  ['b', { shape: [3], data: new Float32Array([1, -2, 3.5]) }],
  ['a.weight', { shape: [2, 2], data: new Float32Array([0.25, 0.5, -1, 1e-8]) }],
]);

describe('openSafetensors', () => {
  it('should read back what encodeSafetensors wrote, with metadata and 8-byte aligned data', () => {
    const bytes = encodeSafetensors(tensorsFixture, { format: 'pt' });
    expect(Number(bytes.readBigUInt64LE(0)) % 8).to.equal(0);
    const st = openSafetensors(tempFile(bytes));
    expect([...st.entries.keys()]).to.deep.equal(['a.weight', 'b']);
    expect(st.metadata).to.deep.equal({ format: 'pt' });
    expect(st.entries.get('a.weight')!.shape).to.deep.equal([2, 2]);
    expect(Array.from(st.read('a.weight'))).to.deep.equal(Array.from(tensorsFixture.get('a.weight')!.data));
    expect(Array.from(st.read('b'))).to.deep.equal([1, -2, 3.5]);
  });

  it('should widen F16 and BF16 to float32', () => {
    const f16 = Buffer.alloc(8);
    [0x3c00, 0xc000, 0x0001, 0x7c00].forEach((h, i) => f16.writeUInt16LE(h, i * 2)); // 1, -2, smallest subnormal, +inf
    const bf16 = Buffer.alloc(4);
    [0x3fc0, 0xbf80].forEach((h, i) => bf16.writeUInt16LE(h, i * 2)); // 1.5, -1
    const file = rawFile({ h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] }, g: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] } }, Buffer.concat([f16, bf16]));
    const st = openSafetensors(file);
    expect(Array.from(st.read('h'))).to.deep.equal([1, -2, 2 ** -24, Infinity]);
    expect(Array.from(st.read('g'))).to.deep.equal([1.5, -1]);
  });

  describe('having a damaged file', () => {
    it('should refuse a truncated file naming the tensor past the end', () => {
      const bytes = encodeSafetensors(tensorsFixture);
      const e = errorOf(() => openSafetensors(tempFile(bytes.subarray(0, bytes.length - 4))));
      expect(e.kind).to.equal('invalid-checkpoint');
      expect(e.message).to.include('past the end of the file').and.include('truncated');
    });

    it('should refuse a file shorter than its header length, and one shorter than 8 bytes', () => {
      const bytes = encodeSafetensors(tensorsFixture);
      expect(errorOf(() => openSafetensors(tempFile(bytes.subarray(0, 20)))).message).to.include('truncated');
      expect(errorOf(() => openSafetensors(tempFile(Buffer.from([1, 2, 3])))).message).to.include('fewer than the 8-byte header length');
    });

    it('should cap the header length before reading it', () => {
      const length = Buffer.alloc(16);
      length.writeBigUInt64LE(2n ** 62n);
      expect(errorOf(() => openSafetensors(tempFile(length))).message).to.include('more than the 104857600-byte limit');
    });

    it('should refuse headers that are not JSON objects, bad offsets, overlaps and size mismatches', () => {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(5n);
      expect(errorOf(() => openSafetensors(tempFile(Buffer.concat([len, Buffer.from('{"a":')])))).message).to.include('not valid JSON');
      const data = Buffer.alloc(16);
      expect(errorOf(() => openSafetensors(rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, data))).message).to.include('needs 8 bytes');
      expect(errorOf(() => openSafetensors(rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, data))).message).to.include('span');
      expect(errorOf(() => openSafetensors(rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data))).message).to.include('overlap');
      expect(errorOf(() => openSafetensors(rawFile({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, data))).message).to.include('invalid shape');
      expect(errorOf(() => openSafetensors(rawFile([1, 2], data))).message).to.include('must be a JSON object');
    });

    it('should refuse an unknown dtype naming it and the supported ones', () => {
      const e = errorOf(() => openSafetensors(rawFile({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8))));
      expect(e.message).to.include('dtype I64').and.include('Supported dtypes: F32, F16, BF16');
    });

    it('should turn random corruption into an error, never a crash', () => {
      const good = encodeSafetensors(tensorsFixture);
      for (let seed = 0; seed < 40; seed++) {
        const bytes = Buffer.from(good);
        for (let i = 0; i < 6; i++) bytes[(seed * 7919 + i * 104729) % bytes.length] ^= 0xff;
        try {
          const st = openSafetensors(tempFile(bytes));
          for (const name of st.entries.keys()) st.read(name);
        } catch (error) {
          expect((error as { kind?: string }).kind, String(error)).to.be.oneOf(['invalid-checkpoint', 'io']);
        }
      }
    });

    it('should say when the file does not exist', () => {
      expect(errorOf(() => openSafetensors('/nonexistent/model.safetensors')).message).to.include('no such file');
    });
  });
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { expect } from 'chai';
import { SwapformerError } from '@swapformer/core';
import { encodeIdx, parseIdx, readIdxFile } from '../../src/data/readIdx';

function expectInvalid(fn: () => unknown, fragment: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(SwapformerError.is(error), String(error)).to.equal(true);
    expect((error as SwapformerError).kind).to.equal('invalid-data');
    expect((error as Error).message).to.match(fragment);
    return;
  }
  expect.fail('expected an invalid-data error');
}

describe('readIdx', () => {
  const imagesFixture = encodeIdx([2, 3, 4], Uint8Array.from({ length: 24 }, (_, i) => i));
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idx-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('parseIdx', () => {
    it('should round-trip what encodeIdx writes (magic 0x00000803, big-endian dims)', () => {
      expect(Array.from(imagesFixture.subarray(0, 8))).to.deep.equal([0, 0, 8, 3, 0, 0, 0, 2]);
      const parsed = parseIdx(imagesFixture);
      expect(parsed.dims).to.deep.equal([2, 3, 4]);
      expect(Array.from(parsed.data)).to.deep.equal(Array.from({ length: 24 }, (_, i) => i));
    });

    describe('having a bad header', () => {
      it('should refuse a wrong magic number', () => {
        const bad = imagesFixture.slice();
        bad[0] = 0x1f;
        expectInvalid(() => parseIdx(bad, 'x.idx'), /x\.idx: bad magic number 0x1f000803/);
      });
      it('should refuse an element type other than uint8', () => {
        const bad = imagesFixture.slice();
        bad[2] = 0x0d;
        expectInvalid(() => parseIdx(bad), /element type 0x0d \(float32\) is not supported/);
      });
      it('should refuse labels where images were expected', () => {
        expectInvalid(() => parseIdx(encodeIdx([3], Uint8Array.of(1, 2, 3)), 'l', { rank: 3 }), /has 1 dimension\(s\) \(magic 0x00000801\), expected 3/);
      });
      it('should refuse dims other than the expected ones', () => {
        expectInvalid(() => parseIdx(imagesFixture, 'i', { dims: [null, 28, 28] }), /has dims \[2, 3, 4\], expected \[any, 28, 28\]/);
      });
      it('should refuse a truncated payload', () => {
        expectInvalid(() => parseIdx(imagesFixture.subarray(0, imagesFixture.length - 1)), /need 24 data bytes after the 16-byte header, the file has 23/);
      });
      it('should refuse a header too short for its dims', () => {
        expectInvalid(() => parseIdx(imagesFixture.subarray(0, 10)), /header needs 16 bytes/);
      });
      it('should refuse dims whose product is over the bound before allocating', () => {
        const huge = Uint8Array.of(0, 0, 8, 2, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff);
        expectInvalid(() => parseIdx(huge), /over the limit/);
      });
    });
  });

  describe('readIdxFile', () => {
    it('should read gzipped and raw files alike', () => {
      fs.writeFileSync(path.join(dir, 'raw.idx'), imagesFixture);
      fs.writeFileSync(path.join(dir, 'packed.gz'), zlib.gzipSync(imagesFixture));
      const raw = readIdxFile(path.join(dir, 'raw.idx'));
      const packed = readIdxFile(path.join(dir, 'packed.gz'), { dims: [2, 3, 4] });
      expect(Array.from(packed.data)).to.deep.equal(Array.from(raw.data));
    });
    it('should bound decompression by maxBytes', () => {
      fs.writeFileSync(path.join(dir, 'big.gz'), zlib.gzipSync(encodeIdx([4096], new Uint8Array(4096))));
      expectInvalid(() => readIdxFile(path.join(dir, 'big.gz'), { maxBytes: 1000 }), /could not be decompressed within 1020 bytes/);
    });
    it('should refuse a corrupt gzip stream with the file name', () => {
      fs.writeFileSync(path.join(dir, 'corrupt.gz'), Uint8Array.of(0x1f, 0x8b, 8, 0, 1, 2, 3));
      expectInvalid(() => readIdxFile(path.join(dir, 'corrupt.gz')), /corrupt\.gz: gzip data could not be decompressed/);
    });
    it('should say when the file is missing (kind io)', () => {
      expect(() => readIdxFile(path.join(dir, 'nope.gz'))).to.throw(/cannot read ".*nope\.gz": no such file/);
    });
  });
});

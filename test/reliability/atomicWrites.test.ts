import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { writeDirectoryAtomic, writeFileAtomic } from '@swapformer/models';
import { REPO_ROOT } from './support/processes';

const IO_MODULE = path.join(REPO_ROOT, 'models/dist/io/writeFileAtomic.js');
const BIG = 96 << 20; // large enough that a kill lands mid-write

function ioError(fn: () => void): SwapformerError {
  try {
    fn();
  } catch (error) {
    if (SwapformerError.is(error)) return error;
    throw error;
  }
  throw new Error('did not throw');
}

/**
 * Starts `script` in a child process, waits until a file matching `pattern` appears in `dir`
 * (the write is under way), waits `delayMs` more and kills the child with SIGKILL.
 */
function killDuringWrite(script: string, dir: string, pattern: RegExp, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (fs.readdirSync(dir).some((n) => pattern.test(n))) {
        clearInterval(timer);
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    }, 1);
    child.on('exit', () => {
      clearInterval(timer);
      resolve();
    });
  });
}

/** 'old' or 'new' for a complete file, 'partial' otherwise. */
function contentState(file: string): string {
  const data = fs.readFileSync(file);
  if (data.toString() === 'old') return 'old';
  return data.length === BIG && data[0] === 120 && data[BIG - 1] === 120 && data.indexOf(0) === -1 ? 'new' : `partial (${data.length} bytes)`;
}

describe('writeFileAtomic / writeDirectoryAtomic', () => {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-atomic-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('having a writable directory', () => {
    it('should write and replace a file, leaving no temporary file behind', () => {
      const file = path.join(dir, 'results.json');
      writeFileAtomic(file, '{"a": 1}');
      writeFileAtomic(file, new Uint8Array([123, 125]));
      expect(fs.readFileSync(file, 'utf8')).to.equal('{}');
      expect(fs.readdirSync(dir)).to.deep.equal(['results.json']);
    });

    it('should write a directory of files and replace it whole', () => {
      const target = path.join(dir, 'checkpoint');
      writeDirectoryAtomic(target, { 'config.json': '{"v": 1}', 'weights/model.safetensors': new Uint8Array([1, 2, 3]) });
      writeDirectoryAtomic(target, { 'config.json': '{"v": 2}' });
      expect(fs.readdirSync(target)).to.deep.equal(['config.json']);
      expect(fs.readFileSync(path.join(target, 'config.json'), 'utf8')).to.equal('{"v": 2}');
      expect(fs.readdirSync(dir)).to.deep.equal(['checkpoint']);
    });
  });

  describe('having a write that fails', () => {
    it('should leave the target untouched and remove the temporary file when the rename fails', () => {
      const target = path.join(dir, 'occupied');
      fs.mkdirSync(path.join(target, 'inside'), { recursive: true });
      const error = ioError(() => writeFileAtomic(target, 'data'));
      expect(error.kind).to.equal('io');
      expect(error.message).to.include(`cannot write "${target}"`);
      expect(fs.readdirSync(dir)).to.deep.equal(['occupied']);
      expect(fs.readdirSync(target)).to.deep.equal(['inside']);
    });

    it('should create nothing when the parent directory is missing', () => {
      const error = ioError(() => writeFileAtomic(path.join(dir, 'missing/out.json'), 'x'));
      expect(error.message).to.include('ENOENT');
      expect(fs.readdirSync(dir)).to.deep.equal([]);
    });

    it('should refuse directory entries that escape the directory', () => {
      for (const name of ['../escape.json', '/etc/passwd', 'a/../../b']) {
        expect(ioError(() => writeDirectoryAtomic(path.join(dir, 'ckpt'), { [name]: 'x' })).message).to.include('entries must be relative paths inside the directory');
      }
      expect(fs.readdirSync(dir)).to.deep.equal([]);
    });
  });

  describe('having the writer killed with SIGKILL mid-write', () => {
    for (const delayMs of [0, 20, 120]) {
      it(`should leave the old file or the complete new one, never a prefix (kill ${delayMs} ms into the write)`, async function () {
        this.timeout(60000);
        const file = path.join(dir, 'bench.json');
        fs.writeFileSync(file, 'old');
        const script = `require(${JSON.stringify(IO_MODULE)}).writeFileAtomic(${JSON.stringify(file)}, Buffer.alloc(${BIG}, 120));`;
        await killDuringWrite(script, dir, /^\.bench\.json\..*\.tmp$/, delayMs);
        expect(contentState(file)).to.be.oneOf(['old', 'new']);
        // a leftover is only ever a dot-prefixed temporary sibling, never the target name
        expect(fs.readdirSync(dir).filter((n) => n !== 'bench.json').every((n) => /^\.bench\.json\..*\.tmp$/.test(n))).to.equal(true);
      });
    }

    it('should leave a checkpoint directory whole: old, or complete new, never mixed', async function () {
      this.timeout(60000);
      const target = path.join(dir, 'step-100');
      writeDirectoryAtomic(target, { 'config.json': 'old', 'model.safetensors': 'old' });
      const script = `require(${JSON.stringify(IO_MODULE)}).writeDirectoryAtomic(${JSON.stringify(target)}, { 'config.json': 'new', 'model.safetensors': Buffer.alloc(${BIG}, 120) });`;
      await killDuringWrite(script, dir, /^\.step-100\..*\.tmp$/, 30);
      if (fs.existsSync(target)) {
        const config = fs.readFileSync(path.join(target, 'config.json'), 'utf8');
        expect(config).to.be.oneOf(['old', 'new']);
        expect(contentState(path.join(target, 'model.safetensors'))).to.equal(config);
      } else {
        // killed between moving the old copy aside and moving the new one in: the old copy is intact
        const aside = fs.readdirSync(dir).find((n) => n.endsWith('.tmp.old'));
        expect(aside, 'neither the checkpoint nor its set-aside copy exists').to.be.a('string');
        expect(fs.readFileSync(path.join(dir, aside!, 'config.json'), 'utf8')).to.equal('old');
      }
    });
  });
});

import { expect } from 'chai';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
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

  describe('having a target that is not a plain file', () => {
    it('should write through a symlink to its target atomically and keep the link', () => {
      const real = path.join(dir, 'real.json');
      const link = path.join(dir, 'link.json');
      fs.writeFileSync(real, 'old');
      fs.chmodSync(real, 0o600);
      fs.symlinkSync('real.json', link);
      writeFileAtomic(link, 'new');
      expect(fs.lstatSync(link).isSymbolicLink(), 'the link was replaced by a file').to.equal(true);
      expect(fs.readFileSync(real, 'utf8')).to.equal('new');
      expect(fs.statSync(real).mode & 0o777, 'the target keeps its mode').to.equal(0o600);
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['link.json', 'real.json']);
    });

    it('should create the target of a dangling symlink (through a chain of links) and keep the links', () => {
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.symlinkSync('sub/second', path.join(dir, 'first'));
      fs.symlinkSync('../made.json', path.join(dir, 'sub/second'));
      writeFileAtomic(path.join(dir, 'first'), 'made');
      expect(fs.lstatSync(path.join(dir, 'first')).isSymbolicLink()).to.equal(true);
      expect(fs.lstatSync(path.join(dir, 'sub/second')).isSymbolicLink()).to.equal(true);
      expect(fs.readFileSync(path.join(dir, 'made.json'), 'utf8')).to.equal('made');
    });

    // Only links inside the temporary folder are written, never /dev itself: a writer that
    // regressed to rename-over would, as root, replace the system's device nodes.
    it('should stream to a character device through a link, leaving the link and the device in place', () => {
      fs.symlinkSync('/dev/null', path.join(dir, 'sink'));
      writeFileAtomic(path.join(dir, 'sink'), 'discarded');
      expect(fs.readlinkSync(path.join(dir, 'sink'))).to.equal('/dev/null');
      expect(fs.statSync('/dev/null').isCharacterDevice()).to.equal(true);
      expect(fs.readdirSync(dir)).to.deep.equal(['sink']);
    });

    it('should write a link to the process stdout (as /dev/stdout is) into the pipe instead of replacing it', () => {
      const link = path.join(dir, 'stdout');
      fs.symlinkSync('/proc/self/fd/1', link);
      const script = `require(${JSON.stringify(IO_MODULE)}).writeFileAtomic(${JSON.stringify(link)}, 'through the pipe');`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('through the pipe');
      expect(fs.lstatSync(link).isSymbolicLink()).to.equal(true);
    });

    it('should stream into a FIFO for the reader at its other end', async function () {
      this.timeout(20000);
      const fifo = path.join(dir, 'pipe');
      execFileSync('mkfifo', [fifo]);
      const reader = spawn('cat', [fifo]);
      let received = '';
      reader.stdout.on('data', (d: Buffer) => (received += d.toString()));
      const closed = new Promise((resolve) => reader.on('close', resolve));
      try {
        writeFileAtomic(fifo, 'through the fifo');
        // a writer that replaced the FIFO leaves the reader waiting: give up after a while
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000))]);
      } finally {
        reader.kill();
      }
      expect(received).to.equal('through the fifo');
      expect(fs.statSync(fifo).isFIFO()).to.equal(true);
    });

    it('should refuse a directory with an error that says so, and leave it untouched', () => {
      fs.mkdirSync(path.join(dir, 'out'));
      const error = ioError(() => writeFileAtomic(path.join(dir, 'out'), 'x'));
      expect(error.kind).to.equal('io');
      expect(error.message).to.include('is a directory').and.include(path.join(dir, 'out', 'out.json'));
      expect(fs.readdirSync(dir)).to.deep.equal(['out']);
    });
  });

  describe('having two processes write the same file at once', () => {
    it('should leave one complete file, never a mix or a prefix', async function () {
      this.timeout(60000);
      const file = path.join(dir, 'shared.bin');
      const size = 4 << 20;
      const writer = (byte: number) => `const w = require(${JSON.stringify(IO_MODULE)}); for (let i = 0; i < 15; i++) w.writeFileAtomic(${JSON.stringify(file)}, Buffer.alloc(${size}, ${byte}), { fsync: false });`;
      const exits = [65, 66].map((byte) => new Promise<number | null>((resolve) => spawn(process.execPath, ['-e', writer(byte)], { stdio: 'ignore' }).on('exit', resolve)));
      expect(await Promise.all(exits)).to.deep.equal([0, 0]);
      const data = fs.readFileSync(file);
      expect(data.length).to.equal(size);
      expect(data.every((b) => b === data[0]) && (data[0] === 65 || data[0] === 66), 'bytes of both writers in one file').to.equal(true);
      expect(fs.readdirSync(dir)).to.deep.equal(['shared.bin']);
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

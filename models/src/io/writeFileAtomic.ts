import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { outputTarget, writeAll } from './outputTarget';

/**
 * Atomic file writes: data goes to a temporary sibling first (same directory, so the same
 * filesystem), is flushed with fsync, and only then renamed over the target. rename(2) is
 * atomic on POSIX filesystems, so a reader — or a run resumed after a crash, Ctrl-C or
 * `kill -9` — sees either the old file or the complete new one, never a prefix.
 *
 * Every file the project writes for later use (checkpoints, benchmark results, generated
 * docs, scaffolded packages) goes through here. Like npm's write-file-atomic, a symlink is
 * written through (its target is replaced atomically, the link stays); unlike it, devices and
 * FIFOs (`/dev/stdout`, `/dev/null`, a named pipe) are written in place, since a rename would
 * replace the device node itself, and a directory is refused with a clear error.
 */

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o644, before the umask). */
  readonly mode?: number;
  /** fsync the data before the rename (default true; tests may turn it off for speed). */
  readonly fsync?: boolean;
}

/** A temporary name next to `target`, unique within and across processes; dot-prefixed so globs skip it. */
export function temporarySibling(target: string): string {
  const unique = `${process.pid}.${Date.now().toString(36)}.${randomBytes(6).toString('hex')}`;
  return path.join(path.dirname(target), `.${path.basename(target)}.${unique}.tmp`);
}

function ioError(target: string, action: string, error: unknown): SwapformerError {
  const code = (error as NodeJS.ErrnoException)?.code;
  return new SwapformerError('io', `cannot ${action} "${target}": ${code ? `${code}, ` : ''}${(error as Error)?.message ?? String(error)}`, { path: target, cause: error });
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true, recursive: true });
  } catch {
    // best effort: the temp name is dot-prefixed and never read back
  }
}

/**
 * Content made piece by piece: `produce` calls `write` for each piece as it comes, so the output
 * is bounded by the disk rather than by one string or buffer (JSON logits of a long GPT-2 prompt
 * passed V8's string limit).
 */
export type ChunkProducer = (write: (chunk: string | Uint8Array) => void) => void;

/** Runs `data` (bytes, text, or a producer of pieces) into the open descriptor `fd`. */
function writeContent(fd: number, data: string | Uint8Array | ChunkProducer): void {
  if (typeof data === 'function') data((chunk) => writeAll(fd, typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk));
  else writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
}

/**
 * Writes `data` to `file` atomically (temp + fsync + rename). `data` is bytes, text, or a
 * producer of pieces (streamed to the temporary file). On failure the target is left
 * untouched, the temporary file is removed and an `io` error naming the file is thrown (a
 * producer's own SwapformerError passes through as it is).
 * A symlinked `file` keeps its link and gets its target replaced; an existing file keeps its
 * mode unless `options.mode` is given; devices and FIFOs are streamed to; directories refused.
 *
 * @example writeFileAtomic('runs/bench.json', JSON.stringify(results, null, 2));
 * @example writeFileAtomic('out.json', (write) => { write('['); write('1,2'); write(']'); });
 */
export function writeFileAtomic(file: string, data: string | Uint8Array | ChunkProducer, options: AtomicWriteOptions = {}): void {
  let where: ReturnType<typeof outputTarget>;
  try {
    where = outputTarget(file);
  } catch (error) {
    throw SwapformerError.is(error) ? error : ioError(file, 'write', error);
  }
  if (where.kind === 'stream') return writeInPlace(file, where.path, data);
  if (where.kind === 'descriptor') return writeToDescriptor(file, where.fd, data);
  const target = where.path;
  const temp = temporarySibling(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, 'wx', options.mode ?? where.mode ?? 0o644);
    // open's mode is filtered by the umask; an existing file's own mode is restored as it was
    if (options.mode === undefined && where.mode !== undefined) fs.fchmodSync(fd, where.mode);
    writeContent(fd, data);
    if (options.fsync !== false) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, target);
  } catch (error) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing
      }
    }
    removeQuietly(temp);
    if (SwapformerError.is(error)) throw error; // the producer's own error, not an I/O one
    throw ioError(file, 'write', error);
  }
  if (options.fsync !== false) syncDirectory(path.dirname(target));
}

/** An open descriptor of this process (stdout through /dev/stdout): written, never closed. */
function writeToDescriptor(file: string, fd: number, data: string | Uint8Array | ChunkProducer): void {
  try {
    writeContent(fd, data);
  } catch (error) {
    if (SwapformerError.is(error)) throw error;
    throw ioError(file, 'write', error);
  }
}

/** Devices and FIFOs: opened for writing as they are (no create, no rename), like `> /dev/stdout`. */
function writeInPlace(file: string, target: string, data: string | Uint8Array | ChunkProducer): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_APPEND); // append: a redirected stdout keeps what was printed before
    writeContent(fd, data);
  } catch (error) {
    if (SwapformerError.is(error)) throw error;
    throw ioError(file, 'write', error);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** fsync a directory so the rename itself is durable (no-op where directories cannot be opened). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows and some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes a whole directory atomically: every file goes into a temporary sibling directory,
 * which then replaces `dir` (an existing `dir` is moved aside first and removed after the
 * swap). Use it for multi-file artefacts that must stay consistent with each other, such as
 * a checkpoint's `config.json` + `model.safetensors`.
 *
 * `files` maps relative paths (no `..`, no absolute paths) to contents.
 *
 * @example writeDirectoryAtomic('checkpoints/step-1000', { 'config.json': json, 'model.safetensors': bytes });
 */
export function writeDirectoryAtomic(dir: string, files: Readonly<Record<string, string | Uint8Array>>, options: AtomicWriteOptions = {}): void {
  const target = path.resolve(dir);
  for (const name of Object.keys(files)) {
    const resolved = path.resolve(target, name);
    if (path.isAbsolute(name) || !resolved.startsWith(target + path.sep)) {
      throw new SwapformerError('io', `refusing to write "${name}" into "${dir}": entries must be relative paths inside the directory.`, { path: dir });
    }
  }
  replaceDirectoryAtomic(
    dir,
    (temp) => {
      for (const [name, data] of Object.entries(files)) {
        const file = path.join(temp, name);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        writeFileAtomic(file, data, options);
      }
    },
    options,
  );
}

/**
 * The mechanism behind `writeDirectoryAtomic`, for writers that produce files themselves:
 * `fill(temp)` writes into an empty temporary sibling directory, which then replaces `dir`
 * (the old copy is moved aside and restored if the swap fails). If `fill` throws, `dir` is
 * untouched and the temporary directory is removed.
 *
 * @example replaceDirectoryAtomic('runs/vit/last', (temp) => factory.save(model, temp));
 */
export function replaceDirectoryAtomic(dir: string, fill: (temp: string) => void, options: AtomicWriteOptions = {}): void {
  const target = path.resolve(dir);
  const temp = temporarySibling(target);
  const aside = `${temp}.old`;
  try {
    fs.mkdirSync(temp, { recursive: false });
    fill(temp);
  } catch (error) {
    removeQuietly(temp);
    throw SwapformerError.is(error) ? error : ioError(dir, 'write', error);
  }
  let movedAside = false;
  try {
    if (fs.existsSync(target)) {
      fs.renameSync(target, aside);
      movedAside = true;
    }
    fs.renameSync(temp, target);
  } catch (error) {
    if (movedAside && !fs.existsSync(target)) {
      try {
        fs.renameSync(aside, target);
        movedAside = false;
      } catch {
        // leave the old copy at `aside`; the message says where
      }
    }
    removeQuietly(temp);
    throw ioError(dir, movedAside ? `replace (the previous copy is at "${aside}")` : 'write', error);
  }
  if (movedAside) removeQuietly(aside);
  if (options.fsync !== false) syncDirectory(path.dirname(target));
}

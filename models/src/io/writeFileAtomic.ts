import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';

/**
 * Atomic file writes: data goes to a temporary sibling first (same directory, so the same
 * filesystem), is flushed with fsync, and only then renamed over the target. rename(2) is
 * atomic on POSIX filesystems, so a reader — or a run resumed after a crash, Ctrl-C or
 * `kill -9` — sees either the old file or the complete new one, never a prefix.
 *
 * Every file the project writes for later use (checkpoints, benchmark results, generated
 * docs, scaffolded packages) goes through here.
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
 * Writes `data` to `file` atomically (temp + fsync + rename). On failure the target is left
 * untouched, the temporary file is removed and an `io` error naming the file is thrown.
 *
 * @example writeFileAtomic('runs/bench.json', JSON.stringify(results, null, 2));
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const target = path.resolve(file);
  const temp = temporarySibling(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, 'wx', options.mode ?? 0o644);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let offset = 0;
    while (offset < bytes.byteLength) offset += fs.writeSync(fd, bytes, offset, bytes.byteLength - offset);
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
    throw ioError(file, 'write', error);
  }
  if (options.fsync !== false) syncDirectory(path.dirname(target));
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

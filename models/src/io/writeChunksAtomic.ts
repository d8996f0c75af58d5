import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { temporarySibling } from './writeFileAtomic';

/**
 * `writeFileAtomic` for content made piece by piece (temp + fsync + rename): the pieces are
 * written as they come, so the output is bounded by the disk rather than by one string or
 * buffer (JSON logits of a long GPT-2 prompt passed V8's string limit). On failure the target
 * is untouched and the temporary file removed.
 *
 * @example writeChunksAtomic('out.json', (write) => { write('['); write('1,2'); write(']'); });
 */
export function writeChunksAtomic(file: string, produce: (write: (chunk: string | Uint8Array) => void) => void, options: { readonly fsync?: boolean } = {}): void {
  const target = path.resolve(file);
  const temp = temporarySibling(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, 'wx', 0o644);
    const handle = fd;
    produce((chunk) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let offset = 0;
      while (offset < bytes.byteLength) offset += fs.writeSync(handle, bytes, offset, bytes.byteLength - offset);
    });
    if (options.fsync !== false) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, target);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    if (SwapformerError.is(error)) throw error; // the producer's own error, not an I/O one
    const code = (error as NodeJS.ErrnoException)?.code;
    throw new SwapformerError('io', `cannot write "${file}": ${code ? `${code}, ` : ''}${(error as Error)?.message ?? String(error)}`, { path: file, cause: error });
  }
}

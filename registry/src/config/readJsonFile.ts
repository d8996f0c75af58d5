import * as fs from 'node:fs';
import { SwapformerError } from '@swapformer/core';
import { describeJsonSyntaxError } from './jsonSyntaxError';

/** Config files larger than this are refused before reading (configs are small). */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a parent of it is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many symbolic links (a link loop?)',
  ENAMETOOLONG: 'the path is too long',
  EISDIR: 'it is a directory, not a file',
};

function cannotRead(file: string, error: unknown): SwapformerError {
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  const why = REASONS[code] ?? (code ? `${code}` : (error as Error)?.message ?? String(error));
  return new SwapformerError('io', `cannot read "${file}": ${why}.`, { path: file, cause: error });
}

/**
 * Reads and parses a JSON file with bounded size and clear errors (missing file, directory,
 * device or FIFO, too large, not UTF-8, invalid JSON with its line and column). A UTF-8 byte-order
 * mark is accepted. The size is checked before anything is read, and the read itself is bounded,
 * so a file that grows meanwhile cannot make it allocate more.
 *
 * @example const config = readJsonFile('examples/dropin.json');
 */
export function readJsonFile(file: string, maxBytes = MAX_CONFIG_BYTES): unknown {
  if (typeof file !== 'string' || file.length === 0 || file.includes('\0')) {
    throw new SwapformerError('io', `cannot read ${JSON.stringify(String(file)).slice(0, 80)}: not a usable file path.`);
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    throw cannotRead(file, error);
  }
  // Refuse FIFOs, sockets and devices before opening: opening a FIFO blocks until a writer appears.
  if (!stat.isFile()) throw new SwapformerError('io', `cannot read "${file}": ${stat.isDirectory() ? 'it is a directory' : 'not a regular file (a device, FIFO or socket)'}.`, { path: file });
  if (stat.size > maxBytes) throw new SwapformerError('invalid-config', `"${file}" is ${stat.size} bytes; config files are limited to ${maxBytes} bytes.`, { path: file });
  let bytes: Buffer;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    const buffer = Buffer.alloc(Math.min(maxBytes + 1, stat.size + 1));
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length === buffer.length) break;
    }
    bytes = buffer.subarray(0, length);
  } catch (error) {
    throw cannotRead(file, error);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  if (bytes.length > maxBytes || bytes.length > stat.size) {
    throw new SwapformerError('invalid-config', `"${file}" grew while being read; config files are limited to ${maxBytes} bytes.`, { path: file });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new SwapformerError('invalid-config', `"${file}" is not UTF-8 text (a binary file, or another encoding such as UTF-16); save it as UTF-8 JSON.`, { path: file, cause: error });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (error) {
    // JSON.parse stays the parser (exact JSON semantics, fast); jsonc-parser only locates its errors
    const reason = text.trim().length === 0 ? 'the file is empty' : (describeJsonSyntaxError(text, error as Error) ?? (error as Error).message);
    throw new SwapformerError('invalid-config', `"${file}" is not valid JSON: ${reason}`, { path: file, cause: error });
  }
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';

/**
 * Where a write to a user-given path really lands. Atomic replacement (temp + rename) is only
 * right for regular files: renaming over a symlink would replace the link itself, and renaming
 * over /dev/stdout (a link into /proc) once replaced the device node with a regular file.
 */
export type OutputTarget =
  /** A regular file (or a name not taken yet) at `path`, with symlinks already followed. */
  | { readonly kind: 'file'; readonly path: string; readonly mode?: number }
  /** A character device, FIFO or terminal: written in place, as a shell redirection would. */
  | { readonly kind: 'stream'; readonly path: string }
  /** One of this process's open descriptors (/dev/stdout, /dev/fd/N): a pipe or socket cannot be reopened by name. */
  | { readonly kind: 'descriptor'; readonly fd: number };

/** Links are followed at most this many times (Linux's own limit for path resolution). */
const MAX_LINKS = 40;

/** This process's descriptors by name, as /dev/stdout → /proc/self/fd/1 leads to them. */
const OWN_DESCRIPTOR = /^\/(?:proc\/self|proc\/thread-self|dev)\/fd\/(\d+)$/;

/** Device and process-fd paths: their links are kernel objects, not files to resolve by name. */
const KERNEL_PATHS = /^\/(dev|proc)\//;

/**
 * Follows the symlink chain of `file` one link at a time, so a link to a file that does not
 * exist yet resolves to where that file will be created (realpath would fail instead).
 * Returns every path of the chain, `file` first.
 */
function linkChain(file: string): string[] {
  const chain = [path.resolve(file)];
  for (let i = 0; i < MAX_LINKS; i++) {
    const current = chain[chain.length - 1];
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(current);
    } catch {
      return chain;
    }
    if (!stat.isSymbolicLink()) return chain;
    chain.push(path.resolve(path.dirname(current), fs.readlinkSync(current)));
  }
  throw new SwapformerError('io', `cannot write "${file}": more than ${MAX_LINKS} symbolic links (a link loop?).`, { path: file });
}

/**
 * Classifies `file` for writing: directories are refused, devices and FIFOs — and anything
 * reached through /dev or /proc, such as /dev/stdout redirected to a file — are streamed to,
 * everything else is a regular file at the end of its symlink chain.
 */
export function outputTarget(file: string): OutputTarget {
  const absolute = path.resolve(file);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(absolute);
  } catch {
    stat = undefined; // not there yet, or a dangling link: linkChain finds where it will be
  }
  if (stat?.isDirectory()) {
    throw new SwapformerError('io', `cannot write "${file}": it is a directory; give a file path inside it (e.g. "${path.join(file, 'out.json')}").`, { path: file });
  }
  const chain = linkChain(absolute);
  const own = chain.map((p) => OWN_DESCRIPTOR.exec(p)).find(Boolean);
  if (stat && own) return { kind: 'descriptor', fd: Number(own[1]) };
  if (stat?.isSocket()) throw new SwapformerError('io', `cannot write "${file}": it is a socket, not a file, device or FIFO.`, { path: file });
  if (stat && !stat.isFile()) return { kind: 'stream', path: absolute };
  if (stat && chain.some((p) => KERNEL_PATHS.test(p))) return { kind: 'stream', path: absolute };
  return { kind: 'file', path: chain[chain.length - 1], ...(stat ? { mode: stat.mode & 0o7777 } : {}) };
}

/**
 * Writes all of `bytes` to an open descriptor: writeSync may write less than asked, and a
 * non-blocking pipe (Node's stdout often is one) answers EAGAIN while its reader catches up.
 */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.byteLength) {
    try {
      offset += fs.writeSync(fd, bytes, offset, bytes.byteLength - offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2); // a short sleep, not a spin
    }
  }
}

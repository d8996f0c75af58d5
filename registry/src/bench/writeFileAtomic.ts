import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic as writeAtomically } from '../io/writeFileAtomic';

/**
 * Writes `content` to `file` atomically (the shared temp + fsync + rename of io/), creating the
 * folder first, so a reader (or an interrupted run) never sees a half-written table.
 *
 * @example writeFileAtomic('docs/benchmarks/wasm.md', markdown);
 */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeAtomically(file, content);
}

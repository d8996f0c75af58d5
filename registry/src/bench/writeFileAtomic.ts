import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `content` to `file` through a temporary file in the same folder and a rename, so a
 * reader (or an interrupted run) never sees a half-written table.
 *
 * @example writeFileAtomic('docs/benchmarks/wasm.md', markdown);
 */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(temp, content);
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

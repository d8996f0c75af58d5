/**
 * The binary readers the corpus targets, loaded when this checkout has them: the safetensors
 * reader and checkpoint folders (models package) and the IDX reader (training package). A reader
 * that is not there yet leaves its cases pending, saying so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BinaryCategory } from '../corpus/binaryCorpus';
import { REPO_ROOT } from './processes';

/** Source file, export and call of each reader. */
export const READERS: Record<BinaryCategory, { readonly module: string; readonly open: string }> = {
  safetensors: { module: 'models/src/hf/safetensors.ts', open: 'openSafetensors' },
  'safetensors-checkpoint': { module: 'models/src/hf/checkpointFiles.ts', open: 'openCheckpointTensors' },
  idx: { module: 'cli/src/data/readIdx.ts', open: 'readIdxFile' },
};

type Opener = (file: string) => unknown;

/** The reader's open function, or null when its module is not in this checkout. */
export function loadReader(category: BinaryCategory): Opener | null {
  const file = path.join(REPO_ROOT, READERS[category].module);
  if (!fs.existsSync(file)) return null;
  const open = (require(file) as Record<string, unknown>)[READERS[category].open];
  return typeof open === 'function' ? (open as Opener) : null;
}

/**
 * Opens `file` with the reader and reads every tensor it lists (so lazy readers validate their
 * data too). Returns the error, or undefined if everything was accepted.
 */
export function openAndReadAll(open: Opener, file: string): unknown {
  try {
    const opened = open(file) as { entries?: ReadonlyMap<string, unknown>; read?: (name: string) => unknown } | undefined;
    if (opened?.entries && opened.read) for (const name of opened.entries.keys()) opened.read(name);
    return undefined;
  } catch (error) {
    return error;
  }
}

if (require.main === module) {
  // child-process mode, for inputs that could block or allocate: <category> <file> → JSON outcome and peak-RSS growth on stdout
  // Peak RSS growth while reading, not the absolute peak: the baseline (tsx, tfjs, the readers) varies.
  const [category, file] = process.argv.slice(2) as [BinaryCategory, string];
  const reader = loadReader(category)!;
  const baseline = process.resourceUsage().maxRSS;
  const error = openAndReadAll(reader, file) as { kind?: string; message?: string } | undefined;
  const rssGrowthMiB = Math.round((process.resourceUsage().maxRSS - baseline) / 1024);
  process.stdout.write(JSON.stringify(error ? { kind: error.kind ?? null, message: String(error.message), rssGrowthMiB } : { accepted: true, rssGrowthMiB }));
}

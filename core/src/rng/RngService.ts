import { createSeededRandom, deriveSeed, type SeededRandom } from './seededRandom';

/** The container's RNG service: one base seed, everything else derived from it. */
export interface RngService {
  readonly baseSeed: number;
  /** A seed derived from the base seed and labels. */
  derive(...labels: ReadonlyArray<number | string>): number;
  /** A generator for an explicit seed. */
  create(seed: number): SeededRandom;
}

export function createRngService(baseSeed = 0): RngService {
  return {
    baseSeed,
    derive: (...labels) => deriveSeed(baseSeed, ...labels),
    create: (seed) => createSeededRandom(seed),
  };
}

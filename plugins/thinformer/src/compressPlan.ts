/**
 * The schedule of KH-Compress(g) for a key sequence of length nk (spec §2, steps 1–5): how the
 * keys are stride-thinned to a power of four and how many halving rounds follow, with which
 * bucket sizes and failure probabilities. Pure arithmetic; no tensors.
 */

/** One halving round: buckets of `bucketSize` consecutive points are halved independently. */
export interface HalvingRound {
  /** Points entering the round (after stride-thinning and the earlier rounds). */
  readonly points: number;
  /** Bucket size S = 4^(g+1) · 2^round. */
  readonly bucketSize: number;
  /** points / bucketSize. */
  readonly buckets: number;
  /** δ_bucket = p0 · S². */
  readonly bucketDelta: number;
  /** Λ = 1/2 + ln(2S / δ_bucket): half-width of the walk's uniform thresholds. */
  readonly threshold: number;
}

/** Everything KH-Compress(g) does to a sequence of `nk` keys. */
export interface CompressPlan {
  readonly nk: number;
  /** floor(log4 nk). */
  readonly log4n: number;
  /** 4^log4n: points kept by the stride-thinning. */
  readonly n: number;
  /** floor(nk / n): kept positions are 0, stride, …, (n − 1)·stride. */
  readonly stride: number;
  /** Coreset size: n when no halving happens, else 2^g · sqrt(n). */
  readonly nOut: number;
  /** p0 = δ / (4^(g+1) · R · n), or 0 without rounds. */
  readonly baseProbability: number;
  readonly rounds: readonly HalvingRound[];
}

/**
 * The KH-Compress(g) schedule for nk keys (as in the reference's bottom-up `_khcompress`).
 *
 * @example compressPlan(3136, 2, 0.5) // n 1024, stride 3, rounds with S = 64, 128, 256, nOut 128
 */
export function compressPlan(nk: number, g: number, delta: number): CompressPlan {
  // floor(log2 nk) / 2, in integers so 4^k boundaries are exact
  const log4n = (31 - Math.clz32(nk)) >> 1;
  const n = 4 ** log4n;
  const stride = Math.floor(nk / n);
  const firstBucket = 4 ** (g + 1);
  if (n < firstBucket) {
    return { nk, log4n, n, stride, nOut: n, baseProbability: 0, rounds: [] };
  }
  const roundCount = log4n - g;
  const baseProbability = delta / (firstBucket * roundCount * n);
  const rounds: HalvingRound[] = [];
  for (let r = 0; r < roundCount; r++) {
    const points = n / 2 ** r;
    const bucketSize = firstBucket * 2 ** r;
    const bucketDelta = baseProbability * bucketSize * bucketSize;
    rounds.push({ points, bucketSize, buckets: points / bucketSize, bucketDelta, threshold: 0.5 + Math.log((2 * bucketSize) / bucketDelta) });
  }
  return { nk, log4n, n, stride, nOut: n / 2 ** roundCount, baseProbability, rounds };
}

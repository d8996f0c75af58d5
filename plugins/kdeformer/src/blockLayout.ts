/**
 * Where each sorted key and query lands in KDEformer's block-diagonal part (step 4 of the
 * practical algorithm, https://arxiv.org/abs/2302.02451), for one (b, h) slice. O(nk + nq).
 *
 * Keys: the `nv` visible keys in bucket order fill `nb = ceil(nv / bk)` blocks of `bk` slots;
 * only the last block can be short, and its empty slots are padding (index −1) that the caller
 * masks out. Queries: block t takes the queries whose sorted rank falls in the same fraction of
 * the sorted order as key block t, i.e. ranks `[⌈t·bk·nq/nv⌉, ⌈(t+1)·bk·nq/nv⌉)` (query rank ρ sits at
 * key position ρ·nv/nq), padded to the largest block. For nq = nv this is exactly the key split; for nq = nk divisible by b it is the
 * reference's `nq / nb` queries per block.
 *
 * Padding is per slice: the reference reshapes the flattened batch×head axis into blocks, so
 * when nk is not a multiple of b its blocks straddle two heads. Here no block ever leaves its slice.
 */

export interface BlockLayout {
  /** Number of blocks nb (0 when no key is visible). */
  readonly blocks: number;
  /** Key slots per block, `bk = min(b, nv)`. */
  readonly keysPerBlock: number;
  /** Query slots per block, qb. */
  readonly queriesPerBlock: number;
  /** `[nb·bk]` original key index in each slot, −1 for padding. */
  readonly keySlots: Int32Array;
  /** `[nb·qb]` original query index in each slot, −1 for padding. */
  readonly querySlots: Int32Array;
  /** `[nq]` slot of each original query. */
  readonly querySlotOf: Int32Array;
  /** `[nk]` block of each original key, −1 for hidden keys. */
  readonly keyBlockOf: Int32Array;
}

/**
 * @param sortedKeys visible key indices in bucket order
 * @param nk total keys (hidden ones included)
 * @param sortedQueries all query indices in bucket order
 * @param blockSize the option b
 * @example const layout = blockLayout(sortedKeys, 784, sortedQueries, 32); // 25 blocks, last one half full
 */
export function blockLayout(sortedKeys: Int32Array, nk: number, sortedQueries: Int32Array, blockSize: number): BlockLayout {
  const nv = sortedKeys.length;
  const nq = sortedQueries.length;
  const keyBlockOf = new Int32Array(nk).fill(-1);
  if (nv === 0) {
    return { blocks: 0, keysPerBlock: 0, queriesPerBlock: 0, keySlots: new Int32Array(0), querySlots: new Int32Array(0), querySlotOf: new Int32Array(nq).fill(-1), keyBlockOf };
  }
  const bk = Math.min(blockSize, nv);
  const nb = Math.ceil(nv / bk);
  const keySlots = new Int32Array(nb * bk).fill(-1);
  for (let rank = 0; rank < nv; rank++) {
    keySlots[rank] = sortedKeys[rank];
    keyBlockOf[sortedKeys[rank]] = Math.floor(rank / bk);
  }
  // First query rank of each block; block t covers [first[t], first[t + 1]).
  const first = new Int32Array(nb + 1);
  for (let t = 0; t <= nb; t++) first[t] = Math.min(nq, Math.ceil((t * bk * nq) / nv));
  first[nb] = nq;
  let qb = 1;
  for (let t = 0; t < nb; t++) qb = Math.max(qb, first[t + 1] - first[t]);
  const querySlots = new Int32Array(nb * qb).fill(-1);
  const querySlotOf = new Int32Array(nq);
  for (let t = 0; t < nb; t++) {
    for (let rank = first[t]; rank < first[t + 1]; rank++) {
      const slot = t * qb + (rank - first[t]);
      querySlots[slot] = sortedQueries[rank];
      querySlotOf[sortedQueries[rank]] = slot;
    }
  }
  return { blocks: nb, keysPerBlock: bk, queriesPerBlock: qb, keySlots, querySlots, querySlotOf, keyBlockOf };
}

/**
 * B operands kept packed in the GEMM engine's memory between calls, for products of a few rows
 * (decode steps): there, packing B on every call would read and write it twice for a product
 * that reads it once. A weight is packed on its first such product and reused while its key —
 * the tensor's data id, whose contents tfjs never changes in place — is alive.
 *
 * Blocks sit at the bottom of the engine's memory, from byte 64; each call's scratch starts at
 * `top`. Dead keys are swept (by the caller's liveness test) before a new block is placed, and
 * a new block takes the first hole that fits, so memory is reused as weights come and go.
 */

export interface ResidentBlock {
  readonly offset: number;
  readonly bytes: number;
}

interface Entry extends ResidentBlock {
  readonly key: object;
  readonly layout: string;
}

export interface ResidentPanels {
  /** First byte past every block (64-aligned): per-call scratch starts here. */
  readonly top: number;
  /** Bytes held by blocks. */
  readonly held: number;
  find(key: object, layout: string): ResidentBlock | undefined;
  /** Whether `bytes` more fit in the budget (after sweeping dead keys). */
  fits(bytes: number, isLive: (key: object) => boolean): boolean;
  /** Places a block (the caller then packs into it), or returns null over the budget. */
  place(key: object, layout: string, bytes: number, isLive: (key: object) => boolean): ResidentBlock | null;
}

const BASE = 64;
const align = (x: number) => Math.ceil(x / 64) * 64;

/**
 * @example const panels = createResidentPanels(1 << 30); panels.place(dataId, 'k768n50257t0', bytes, isLive);
 */
export function createResidentPanels(budgetBytes: number): ResidentPanels {
  let entries: Entry[] = []; // sorted by offset
  const held = () => entries.reduce((sum, e) => sum + e.bytes, 0);
  const sweep = (isLive: (key: object) => boolean) => {
    entries = entries.filter((e) => isLive(e.key));
  };
  return {
    get top() {
      return entries.length ? align(entries[entries.length - 1].offset + entries[entries.length - 1].bytes) : BASE;
    },
    get held() {
      return held();
    },
    find: (key, layout) => entries.find((e) => e.key === key && e.layout === layout),
    fits(bytes, isLive) {
      sweep(isLive);
      return held() + bytes <= budgetBytes;
    },
    place(key, layout, bytes, isLive) {
      sweep(isLive);
      if (held() + bytes > budgetBytes) return null;
      let at = BASE;
      let index = 0;
      for (; index < entries.length; index++) {
        if (entries[index].offset - at >= bytes) break;
        at = align(entries[index].offset + entries[index].bytes);
      }
      const entry: Entry = { key, layout, offset: at, bytes };
      entries.splice(index, 0, entry);
      return entry;
    },
  };
}

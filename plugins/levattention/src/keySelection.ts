/**
 * Which keys LevAttention keeps, given their scores: top-k or a threshold, optionally pinning
 * the first key (CLS). Ties go to the lower index, so selection is deterministic. The causal form
 * gives every kept key the interval of key positions during which it is selected.
 *
 * Pure JS on one (b, h) slice; O(n·k) worst case, O(n) typical.
 */

/** How keys are chosen from their scores. */
export interface SelectionRule {
  readonly selection: 'top-k' | 'threshold';
  /** Keys kept by `top-k` (including a pinned first key). */
  readonly topK: number;
  /** Keys with score ≥ epsilon are kept by `threshold`. */
  readonly epsilon: number;
  /** Always keep key 0 (when visible). */
  readonly keepFirst: boolean;
}

/** True if key a ranks before key b: higher score, then lower index. */
function ranksBefore(scores: ArrayLike<number>, a: number, b: number): boolean {
  return scores[a] > scores[b] || (scores[a] === scores[b] && a < b);
}

/**
 * The kept keys of one slice, ascending. `threshold` falls back to the single best key when no
 * key reaches epsilon, so every row with a visible key still attends to something.
 *
 * @example selectKeys(Float64Array.of(0.1, 0.9, 0.5, 0.9), { selection: 'top-k', topK: 2, epsilon: 0.1, keepFirst: false }) // [1, 3]
 */
export function selectKeys(scores: ArrayLike<number>, rule: SelectionRule, visible?: Uint8Array | null): Int32Array {
  const n = scores.length;
  const isVisible = (j: number) => !visible || visible[j] === 1;
  const pinned = rule.keepFirst && n > 0 && isVisible(0);
  const kept: number[] = [];
  if (rule.selection === 'threshold') {
    let best = -1;
    for (let j = 0; j < n; j++) {
      if (!isVisible(j)) continue;
      if (scores[j] >= rule.epsilon || (pinned && j === 0)) kept.push(j);
      if (best < 0 || ranksBefore(scores, j, best)) best = j;
    }
    if (kept.length === 0 && best >= 0) kept.push(best);
    return Int32Array.from(kept);
  }
  // top-k: `ranked` stays sorted best-first with at most `budget` entries.
  const budget = pinned ? rule.topK - 1 : rule.topK;
  const ranked: number[] = [];
  for (let j = pinned ? 1 : 0; j < n && budget > 0; j++) {
    if (!isVisible(j)) continue;
    if (ranked.length === budget && !ranksBefore(scores, j, ranked[budget - 1])) continue;
    if (ranked.length === budget) ranked.pop();
    let at = ranked.length;
    while (at > 0 && ranksBefore(scores, j, ranked[at - 1])) at--;
    ranked.splice(at, 0, j);
  }
  if (pinned) ranked.push(0);
  return Int32Array.from(ranked).sort();
}

/** Kept keys of a causal slice with their active key-time intervals `[enter, leave)`. */
export interface CausalSelection {
  /** Key indices ever kept, ascending. */
  readonly keys: Int32Array;
  /** Key position from which each is kept (its own index). */
  readonly enter: Int32Array;
  /** Key position from which it is no longer kept (nk when never dropped). */
  readonly leave: Int32Array;
}

/**
 * The causal selection: a query at key position t (= i + nk − nq) keeps, among the visible
 * keys j ≤ t, those the rule picks from their online scores. Scores never change once a key has
 * arrived, so a key dropped from the top-k never returns and each kept key has one interval.
 * Computed in one sweep over the keys; nothing after t affects the set at t.
 *
 * @example causalSelection(Float64Array.of(1, 0.5, 0.8), { selection: 'top-k', topK: 1, epsilon: 0.1, keepFirst: false })
 */
export function causalSelection(scores: ArrayLike<number>, rule: SelectionRule, visible?: Uint8Array | null): CausalSelection {
  const n = scores.length;
  const enter = new Int32Array(n).fill(-1);
  const leave = new Int32Array(n).fill(n);
  const isVisible = (j: number) => !visible || visible[j] === 1;
  const pinned = rule.keepFirst && n > 0 && isVisible(0);
  if (pinned) enter[0] = 0;
  if (rule.selection === 'threshold') {
    let anyPassed = pinned;
    let fallback = -1; // best key so far, active only while nothing passes
    for (let j = 0; j < n; j++) {
      if (!isVisible(j) || (pinned && j === 0)) continue;
      if (scores[j] >= rule.epsilon) {
        enter[j] = j;
        if (!anyPassed && fallback >= 0) leave[fallback] = j;
        anyPassed = true;
      } else if (!anyPassed && (fallback < 0 || ranksBefore(scores, j, fallback))) {
        if (fallback >= 0) leave[fallback] = j;
        fallback = j;
        enter[j] = j;
      }
    }
  } else {
    const budget = pinned ? rule.topK - 1 : rule.topK;
    const ranked: number[] = []; // best-first, at most budget entries
    for (let j = pinned ? 1 : 0; j < n && budget > 0; j++) {
      if (!isVisible(j)) continue;
      if (ranked.length === budget && !ranksBefore(scores, j, ranked[budget - 1])) continue;
      if (ranked.length === budget) leave[ranked.pop()!] = j;
      let at = ranked.length;
      while (at > 0 && ranksBefore(scores, j, ranked[at - 1])) at--;
      ranked.splice(at, 0, j);
      enter[j] = j;
    }
  }
  const keys = Int32Array.from({ length: n }, (_, j) => j).filter((j) => enter[j] >= 0);
  return { keys, enter: keys.map((j) => enter[j]), leave: keys.map((j) => leave[j]) };
}

/** Text ↔ token ids. */
export interface Tokenizer {
  /** "char" or "gpt2". */
  readonly name: string;
  /** Number of ids the tokenizer can produce. */
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

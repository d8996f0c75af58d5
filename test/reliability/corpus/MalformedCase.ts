import type { SwapformerErrorKind } from '@swapformer/core';

/**
 * How a malformed input reaches the code under test:
 * - `json`: a JSON value, written to a file for the CLI or passed as parsed JSON to the API;
 * - `text`: raw file content (syntax errors, encodings, binary);
 * - `value`: an in-memory value JSON cannot express (NaN, Infinity, functions, cycles) — API only.
 */
export type CaseInput =
  | { readonly form: 'json'; readonly value: unknown }
  | { readonly form: 'text'; readonly text: string | Uint8Array }
  | { readonly form: 'value'; readonly value: unknown };

/** What a case must produce: a SwapformerError of this kind whose message contains every string. */
export interface ExpectedError {
  readonly kind: SwapformerErrorKind;
  readonly includes: readonly string[];
}

/** One generated malformed input. */
export interface MalformedCase {
  /** Stable id: `<category>/<n>-<slug>`. */
  readonly id: string;
  readonly category: string;
  readonly title: string;
  readonly input: CaseInput;
  readonly expect: ExpectedError;
}

/** Collects cases of one category with sequential ids. */
export function caseCollector(category: string): { add(title: string, input: CaseInput, expect: ExpectedError): void; readonly cases: MalformedCase[] } {
  const cases: MalformedCase[] = [];
  return {
    cases,
    add(title, input, expect) {
      const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48);
      cases.push({ id: `${category}/${String(cases.length + 1).padStart(3, '0')}-${slug}`, category, title, input, expect });
    },
  };
}

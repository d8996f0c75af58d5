/**
 * A guard that runs before any schema validation: a config must be plain JSON of bounded size.
 * Without it, a 10,000-deep nesting overflows the stack inside structuredClone/ajv, NaN is
 * reported as "got null", a function or a cycle surfaces as a DOMException, and 100,000 unknown
 * keys produce a 100,000-line message.
 */

/** Bounds on a config's shape (configs are small hand-written files). */
export interface JsonLimits {
  readonly maxDepth: number;
  /** Objects, arrays and scalars counted together. */
  readonly maxValues: number;
  readonly maxKeyLength: number;
  readonly maxStringLength: number;
}

export const CONFIG_LIMITS: JsonLimits = { maxDepth: 64, maxValues: 100_000, maxKeyLength: 200, maxStringLength: 100_000 };

/** How many problems are reported before the scan stops. */
const MAX_PROBLEMS = 10;

function pointerSegment(key: string): string {
  const escaped = key.replace(/~/g, '~0').replace(/\//g, '~1');
  return escaped.length > 40 ? `${escaped.slice(0, 37)}...` : escaped;
}

function describeNonJson(value: unknown): string | null {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? null : `${String(value)} is not a JSON number (JSON numbers are finite)`;
    case 'bigint':
      return `a bigint (${String(value).slice(0, 20)}) is not a JSON number`;
    case 'function':
      return 'a function is not a JSON value';
    case 'symbol':
      return 'a symbol is not a JSON value';
    case 'object': {
      if (value === null || Array.isArray(value)) return null;
      const proto = Object.getPrototypeOf(value) as object | null;
      if (proto === Object.prototype || proto === null) return null;
      const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `a ${name} is not a plain JSON object`;
    }
    default:
      return null;
  }
}

/**
 * Every way `value` is not a plain JSON value within `limits`, as "at /path: why" lines (at most
 * ten; empty when fine). Recursion stops at `maxDepth`, so the check cannot overflow the stack.
 *
 * @example jsonValueProblems({ attention: { options: { m: NaN } } }) // ['at /attention/options/m: NaN is not a JSON number ...']
 */
export function jsonValueProblems(value: unknown, limits: JsonLimits = CONFIG_LIMITS): string[] {
  const problems: string[] = [];
  const ancestors = new Map<object, string>();
  let values = 0;
  const visit = (v: unknown, path: string, depth: number): void => {
    if (problems.length >= MAX_PROBLEMS) return;
    values++;
    if (values === limits.maxValues + 1) {
      problems.push(`at ${path || '/'}: the config holds more than ${limits.maxValues} values; configs are small, hand-written files`);
      return;
    }
    if (values > limits.maxValues) return;
    const nonJson = describeNonJson(v);
    if (nonJson) {
      problems.push(`at ${path || '/'}: ${nonJson}`);
      return;
    }
    if (typeof v === 'string' && v.length > limits.maxStringLength) {
      problems.push(`at ${path || '/'}: a string of ${v.length} characters (at most ${limits.maxStringLength})`);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    if (ancestors.has(v)) {
      problems.push(`at ${path || '/'}: refers back to ${ancestors.get(v) || '/'} (a cycle; JSON cannot hold one)`);
      return;
    }
    if (depth >= limits.maxDepth) {
      problems.push(`at ${path || '/'}: nests deeper than ${limits.maxDepth} levels`);
      return;
    }
    ancestors.set(v, path);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && problems.length < MAX_PROBLEMS; i++) visit(v[i], `${path}/${i}`, depth + 1);
    } else {
      for (const key of Object.keys(v)) {
        if (problems.length >= MAX_PROBLEMS) break;
        if (key.length > limits.maxKeyLength) {
          problems.push(`at ${path}/${pointerSegment(key)}: a key of ${key.length} characters (at most ${limits.maxKeyLength})`);
          continue;
        }
        visit((v as Record<string, unknown>)[key], `${path}/${pointerSegment(key)}`, depth + 1);
      }
    }
    ancestors.delete(v);
  };
  visit(value, '', 0);
  return problems;
}

/**
 * Keeps a multi-line message readable: at most `maxLines` lines of at most `maxLineLength`
 * characters, saying how much was left out.
 *
 * @example boundMessage(hugeMessage) // first 40 lines, then "  ... and 99962 more lines"
 */
export function boundMessage(message: string, maxLines = 40, maxLineLength = 400): string {
  const lines = message.split('\n');
  const kept = lines.slice(0, maxLines).map((l) => (l.length > maxLineLength ? `${l.slice(0, maxLineLength - 3)}...` : l));
  if (lines.length > maxLines) kept.push(`  ... and ${lines.length - maxLines} more lines`);
  return kept.join('\n');
}

import type { ErrorObject } from 'ajv';

/** One validation problem, with the JSON path, the bad value and (when known) the allowed values. */
export interface ConfigIssue {
  /** JSON pointer of the offending value ("/" for the root). */
  readonly path: string;
  readonly message: string;
  readonly value?: unknown;
  readonly allowed?: readonly unknown[];
}

function show(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function join(base: string, key: string): string {
  return `${base === '/' ? '' : base}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function toIssue(e: ErrorObject, basePath: string): ConfigIssue | null {
  const here = basePath + e.instancePath || '/';
  const data = e.data;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'if':
    case 'oneOf':
    case 'anyOf':
      return null; // the branch errors say what is wrong
    case 'additionalProperties': {
      const props = Object.keys(((e.parentSchema as Record<string, unknown>)?.properties as object) ?? {});
      const key = String(params.additionalProperty);
      return { path: join(here, key), message: `unknown key "${key}"`, allowed: props };
    }
    case 'required': {
      const key = String(params.missingProperty);
      return { path: join(here, key), message: `missing required key "${key}"` };
    }
    case 'enum':
      return { path: here, message: 'must be one of the allowed values', value: data, allowed: params.allowedValues as unknown[] };
    case 'const':
      return { path: here, message: 'must be the allowed value', value: data, allowed: [params.allowedValue] };
    case 'type':
      return { path: here, message: `must be ${String(params.type)}`, value: data };
    default:
      return { path: here, message: e.message ?? e.keyword, value: data };
  }
}

/** Turns ajv errors into issues (duplicates and branch-summary errors removed). */
export function toConfigIssues(errors: readonly ErrorObject[], basePath = ''): ConfigIssue[] {
  const seen = new Set<string>();
  const out: ConfigIssue[] = [];
  for (const e of errors) {
    const issue = toIssue(e, basePath);
    if (issue === null) continue;
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(issue);
  }
  return out;
}

/**
 * One line per issue: `at /attention/options/m: must be >= 1 (got 0)`.
 *
 * @example formatIssues(result.issues)
 */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((i) => {
      let line = `  at ${i.path}: ${i.message}`;
      if ('value' in i && i.value !== undefined && !i.message.startsWith('unknown key')) line += ` (got ${show(i.value)})`;
      if (i.allowed && i.allowed.length > 0) line += `; allowed: ${i.allowed.map(show).join(', ')}`;
      return line;
    })
    .join('\n');
}

/**
 * Bad command lines: sizes that are negative, huge or not integers, unknown backends, commands
 * and options, and create-plugin names that break the naming rules. Each must exit 1 with one
 * readable message and create nothing.
 */

export interface CliCase {
  readonly id: string;
  readonly category: 'cli-arguments';
  readonly title: string;
  /** Arguments after `swapformer`; `{dir}` is replaced by a scratch directory. */
  readonly args: readonly string[];
  /** Text the single message must contain. */
  readonly includes: string;
  /** Commander's own usage errors print "error: ..." instead of "swapformer: error: ...". */
  readonly usageError?: boolean;
  /** A path (with `{dir}`) that must not exist afterwards. */
  readonly createsNothingAt?: string;
}

const compare = (flag: string, value: string, includes: string): Omit<CliCase, 'id' | 'category'> => ({ title: `compare ${flag} ${JSON.stringify(value)}`, args: ['compare', '--operators', 'exact', flag, value], includes });
const plugin = (name: string, includes: string): Omit<CliCase, 'id' | 'category'> => ({ title: `create-plugin ${JSON.stringify(name).slice(0, 30)}`, args: ['create-plugin', name, '--dir', '{dir}/out'], includes, createsNothingAt: '{dir}/out' });

const CASES: ReadonlyArray<Omit<CliCase, 'id' | 'category'>> = [
  compare('--n', '0', '--n must be an integer from 1 to'),
  compare('--n', '-5', '--n must be an integer from 1 to'),
  compare('--n', '1e9', '--n must be an integer from 1 to'),
  compare('--n', '99999999999', '--n must be an integer from 1 to'),
  compare('--n', 'ten', '--n must be an integer from 1 to'),
  compare('--n', '2.5', '--n must be an integer from 1 to'),
  compare('--n', 'NaN', '--n must be an integer from 1 to'),
  compare('--n', 'Infinity', '--n must be an integer from 1 to'),
  compare('--heads', '0', '--heads must be an integer from 1 to'),
  compare('--dim', '0', '--dim must be an integer from 1 to'),
  compare('--dim', '100000', '--dim must be an integer from 1 to'),
  compare('--batch', '-1', '--batch must be an integer from 1 to'),
  compare('--seed', '-1', '--seed must be an integer from 0 to'),
  compare('--seed', '4294967296', '--seed must be an integer from 0 to'),
  compare('--repeats', '0', '--repeats must be an integer from 1 to'),
  compare('--backend', 'gpu', 'unknown backend "gpu"'),
  compare('--backend', '', 'unknown backend ""'),
  { title: 'compare an unknown operator', args: ['compare', '--operators', 'nope', '--n', '8', '--heads', '1', '--dim', '4', '--repeats', '1'], includes: 'unknown attention operator "nope"' },
  { title: 'unknown command', args: ['frobnicate'], includes: "unknown command 'frobnicate'", usageError: true },
  { title: 'unknown option', args: ['list', '--frobnicate'], includes: "unknown option '--frobnicate'", usageError: true },
  { title: 'validate without a file', args: ['validate'], includes: "missing required argument 'config'", usageError: true },
  { title: 'compare option without value', args: ['compare', '--n'], includes: "option '--n <n>' argument missing", usageError: true },
  plugin('../evil', 'invalid plugin name "../evil"'),
  plugin('/tmp/evil', 'invalid plugin name "/tmp/evil"'),
  plugin('Evil', 'invalid plugin name "Evil"'),
  plugin('a', 'invalid plugin name "a"'),
  plugin('x'.repeat(41), 'invalid plugin name'),
  plugin('class', 'is a JavaScript reserved word'),
  plugin('my_plugin', 'invalid plugin name "my_plugin"'),
  { title: 'create-plugin with a bad scope', args: ['create-plugin', 'fine', '--scope', '@Bad Scope', '--dir', '{dir}/out'], includes: 'invalid npm package name', createsNothingAt: '{dir}/out' },
  { title: 'create-plugin under a missing parent', args: ['create-plugin', 'fine', '--dir', '{dir}/missing/parent/out'], includes: 'its parent directory does not exist', createsNothingAt: '{dir}/missing' },
  { title: 'create-plugin into a non-empty directory', args: ['create-plugin', 'fine', '--dir', '{dir}'], includes: 'already exists and is not an empty directory' },
  { title: 'create-plugin with a multi-line description', args: ['create-plugin', 'fine', '--description', 'two\nlines', '--dir', '{dir}/out'], includes: 'the description must be one line', createsNothingAt: '{dir}/out' },
];

export function cliCorpus(): CliCase[] {
  return CASES.map((c, i) => ({ ...c, id: `cli-arguments/${String(i + 1).padStart(3, '0')}-${c.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48)}`, category: 'cli-arguments' }));
}

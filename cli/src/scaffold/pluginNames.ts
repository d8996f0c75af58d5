import { PLUGIN_NAME_PATTERN, SwapformerError } from '@swapformer/core';
import { PACKAGE_NAME_PATTERN } from '@swapformer/registry';

/** Every name a scaffolded plugin uses, derived from its kebab-case operator name. */
export interface PluginNames {
  /** `meta.name` and the config name: `local-window`. */
  readonly name: string;
  /** `localWindow` (file and identifier stem). */
  readonly camel: string;
  /** `localWindowPlugin`: the named export, also package.json `"swapformer": {"plugin": ...}`. */
  readonly exportName: string;
  /** `localWindowAttention`: the pure math function in `src/localWindowAttention.ts`. */
  readonly mathName: string;
  /** `LocalWindowAttentionOptions`: the options type of the math function. */
  readonly mathOptionsType: string;
  /** `LocalWindowOptions`: the options type. */
  readonly optionsType: string;
  /** `swapformer-plugin-local-window`, or `@scope/swapformer-plugin-local-window`. */
  readonly packageName: string;
}

/** Identifiers a generated name must not collide with (JS reserved words that camelCase can produce). */
const RESERVED = new Set(['break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null', 'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with']);

/**
 * Checks a plugin name against the naming rules (kebab-case, 2–40 characters, starting with a
 * letter) and derives the package, export and file names from it.
 *
 * @example pluginNames('local-window') // { exportName: 'localWindowPlugin', packageName: 'swapformer-plugin-local-window', ... }
 */
export function pluginNames(name: string, options: { scope?: string; packageName?: string } = {}): PluginNames {
  if (typeof name !== 'string' || name.length < 2 || name.length > 40 || !PLUGIN_NAME_PATTERN.test(name)) {
    throw new SwapformerError(
      'invalid-config',
      `invalid plugin name ${JSON.stringify(name)}: plugin names are kebab-case, 2–40 characters, start with a letter and use only a–z, 0–9 and single dashes (e.g. "local-window", "linear").`,
    );
  }
  const camel = name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  if (RESERVED.has(camel)) {
    throw new SwapformerError('invalid-config', `invalid plugin name "${name}": "${camel}" is a JavaScript reserved word; pick another name.`);
  }
  const pascal = camel[0].toUpperCase() + camel.slice(1);
  let packageName = options.packageName ?? `swapformer-plugin-${name}`;
  if (options.scope !== undefined && options.packageName === undefined) {
    const scope = options.scope.startsWith('@') ? options.scope : `@${options.scope}`;
    packageName = `${scope}/${packageName}`;
  }
  if (!PACKAGE_NAME_PATTERN.test(packageName) || packageName.length > 214) {
    throw new SwapformerError('invalid-config', `invalid npm package name ${JSON.stringify(packageName)}: lowercase letters, digits, ".", "_", "~", "-", optionally "@scope/" first (npm's rules).`);
  }
  return { name, camel, exportName: `${camel}Plugin`, mathName: `${camel}Attention`, mathOptionsType: `${pascal}AttentionOptions`, optionsType: `${pascal}Options`, packageName };
}

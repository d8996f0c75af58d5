/** One option of an operator, as its options schema states it (for `swapformer list`). */
export interface OptionDescription {
  readonly name: string;
  /** JSON type(s), e.g. "integer", "integer | null", or "enum" for a list of values. */
  readonly type: string;
  /** Absent when the schema gives none (then the option is required). */
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly description: string;
}

type PropertySchema = Omit<OptionDescription, 'name' | 'type' | 'description'> & { readonly type?: string | readonly string[]; readonly description?: string };

const BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const;

/**
 * The options an operator's schema declares, in schema order: type, default, allowed values or
 * range, description.
 *
 * @example describeOptions(performerPlugin.optionsSchema) // [{ name: 'features', type: 'integer | null', default: null, minimum: 1, ... }, ...]
 */
export function describeOptions(schema: Readonly<Record<string, unknown>>): OptionDescription[] {
  const properties = (schema.properties ?? {}) as Readonly<Record<string, PropertySchema>>;
  return Object.entries(properties).map(([name, p]) => {
    const type = p.enum ? 'enum' : Array.isArray(p.type) ? p.type.join(' | ') : String(p.type ?? 'any');
    const bounds = Object.fromEntries(BOUNDS.filter((b) => typeof p[b] === 'number').map((b) => [b, p[b]]));
    return { name, type, ...('default' in p ? { default: p.default } : {}), ...(p.enum ? { enum: p.enum } : {}), ...bounds, description: p.description ?? '' };
  });
}

/**
 * The allowed values of an option in one short cell: the enum's values, or its range.
 *
 * @example allowedValues({ name: 'epsilon', type: 'number', minimum: 0, maximum: 1, description: '' }) // "[0, 1]"
 */
export function allowedValues(o: OptionDescription): string {
  if (o.enum) return o.enum.map((v) => JSON.stringify(v)).join(', ');
  const low = o.exclusiveMinimum ?? o.minimum;
  const high = o.exclusiveMaximum ?? o.maximum;
  if (low === undefined && high === undefined) return '';
  const from = low === undefined ? '(-∞' : `${o.exclusiveMinimum !== undefined ? '(' : '['}${low}`;
  const to = high === undefined ? '∞)' : `${high}${o.exclusiveMaximum !== undefined ? ')' : ']'}`;
  return `${from}, ${to}`;
}

/** One option of an operator, as its JSON Schema describes it (for `swapformer list`). */
export interface OperatorOptionInfo {
  readonly name: string;
  /** JSON Schema type(s), e.g. "integer | null"; for an enum, the type of its values. */
  readonly type: string;
  /** Absent when the schema gives no default (the option is then required or optional without one). */
  readonly default?: unknown;
  readonly description: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly enum?: readonly unknown[];
  /** Human form of the bounds or choices: "[1, 65536]", "(0, 100]", "fixed | per-call", or "". */
  readonly range: string;
}

type PropertySchema = Readonly<Record<string, unknown>>;

const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

function typeOf(schema: PropertySchema): string {
  const declared = schema.type;
  if (Array.isArray(declared)) return declared.join(' | ');
  if (typeof declared === 'string') return declared;
  if (Array.isArray(schema.enum)) return [...new Set(schema.enum.map((v) => (v === null ? 'null' : typeof v)))].join(' | ');
  if ('const' in schema) return typeof schema.const;
  return 'any';
}

function rangeOf(info: Omit<OperatorOptionInfo, 'range'>): string {
  if (info.enum) return info.enum.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' | ');
  const low = info.exclusiveMinimum ?? info.minimum;
  const high = info.exclusiveMaximum ?? info.maximum;
  if (low === undefined && high === undefined) return '';
  const open = info.exclusiveMinimum !== undefined ? '(' : '[';
  const close = info.exclusiveMaximum !== undefined ? ')' : ']';
  return `${low === undefined ? '(-∞' : `${open}${low}`}, ${high === undefined ? '∞)' : `${high}${close}`}`;
}

/**
 * The options an operator's JSON Schema declares (top-level properties, in schema order): type,
 * default, description and allowed range or choices.
 *
 * @example describeOperatorOptions(performerPlugin.optionsSchema).find((o) => o.name === 'features')
 */
export function describeOperatorOptions(optionsSchema: Readonly<Record<string, unknown>>): OperatorOptionInfo[] {
  const properties = (optionsSchema.properties ?? {}) as Readonly<Record<string, PropertySchema>>;
  return Object.entries(properties).map(([name, schema]) => {
    const info = {
      name,
      type: typeOf(schema),
      ...('default' in schema ? { default: schema.default } : {}),
      description: typeof schema.description === 'string' ? schema.description : '',
      minimum: number(schema.minimum),
      maximum: number(schema.maximum),
      exclusiveMinimum: number(schema.exclusiveMinimum),
      exclusiveMaximum: number(schema.exclusiveMaximum),
      enum: Array.isArray(schema.enum) ? (schema.enum as unknown[]) : undefined,
    };
    // drop the absent bounds, so --json shows only what the schema says
    const present = Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) as Omit<OperatorOptionInfo, 'range'>;
    return { ...present, range: rangeOf(present) };
  });
}

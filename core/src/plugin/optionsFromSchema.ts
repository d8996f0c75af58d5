import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

/**
 * The options type an options schema describes once defaults are applied — what `create`
 * receives: every property with a `default` is present. Declare the schema `as const` so the
 * type follows it; a key the schema does not name is then a compile error as well as a
 * run-time one. (Types only: json-schema-to-ts adds nothing to the JavaScript.)
 *
 * @example export type PerformerOptions = OptionsFromSchema<typeof performerOptionsSchema>;
 */
export type OptionsFromSchema<Schema extends JSONSchema> = FromSchema<Schema>;

/**
 * The options a caller may write for a schema: properties with a `default` may be left out.
 *
 * @example const options: OptionsInputFromSchema<typeof performerOptionsSchema> = { features: 256 };
 */
export type OptionsInputFromSchema<Schema extends JSONSchema> = FromSchema<Schema, { keepDefaultedPropertiesOptional: true }>;

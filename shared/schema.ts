/**
 * Small TypeBox helpers shared by the wire definitions (task, protocol, REST, feed), so that a
 * schema says a thing one way everywhere: the same JSON Schema for ajv, the same OpenAPI shape.
 */
import { Type, type SchemaOptions, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';

/**
 * A string that is one of `values`, as one JSON Schema `enum` rather than an `anyOf` of
 * constants: one error ("must be equal to one of the allowed values") instead of one per value,
 * and a plain `enum` in OpenAPI.
 */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** `T` or `null` (an `anyOf` with `{type: 'null'}`: JSON Schema, and OpenAPI 3.1). */
export const Nullable = <T extends TSchema>(schema: T, options: SchemaOptions = {}) => Type.Union([schema, Type.Null()], options);

/**
 * A reference to a schema registered by its `$id` (the REST routes' shared schemas, which OpenAPI
 * lists under `components.schemas`), typed as the schema it names.
 */
export function Ref<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  if (!schema.$id) throw new TypeError('Ref needs a schema with an $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}

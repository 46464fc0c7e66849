/**
 * Schema validation for every edge: each schema is compiled once by ajv, and a failure becomes a
 * `VALIDATION_FAILED` error that names the offending field.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Static, TSchema } from '@sinclair/typebox';
import { SwitchyardError } from './errors.js';

const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false });
const compiled = new WeakMap<TSchema, ValidateFunction>();

export function compile<T extends TSchema>(schema: T): ValidateFunction<Static<T>> {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn as ValidateFunction<Static<T>>;
}

export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'invalid value';
  return errors
    .slice(0, 3)
    .map((e) => {
      const where = e.instancePath === '' ? '(root)' : e.instancePath;
      if (e.keyword === 'additionalProperties') {
        return `${where}: unknown field '${String((e.params as { additionalProperty: string }).additionalProperty)}'`;
      }
      return `${where}: ${e.message ?? 'invalid'}`;
    })
    .join('; ');
}

/** Validates `value` against `schema`; throws VALIDATION_FAILED with the field that failed. */
export function assertValid<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  const fn = compile(schema);
  if (!fn(value)) {
    throw new SwitchyardError('VALIDATION_FAILED', `${what} is invalid: ${describeErrors(fn.errors)}`, {
      errors: (fn.errors ?? []).slice(0, 5).map((e) => ({ path: e.instancePath, message: e.message })),
    });
  }
  return value;
}

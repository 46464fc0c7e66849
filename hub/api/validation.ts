/**
 * How fastify checks REST input against the route schemas (shared/rest.ts, shared/task.ts): one
 * strict ajv, and refusals as VALIDATION_FAILED naming the field.
 *
 * Fastify's own ajv coerces types (`"3"` becomes 3, `[x]` becomes x) and removes unknown
 * properties; ours does neither, so a wrong type or an unknown field is refused, as the hand
 * checks this replaced did. Query strings are text, so there alone a property the schema says is
 * an integer is converted — when it is plain decimal digits and nothing else (`"0x10"`, `"1e2"`,
 * `" 5"` stay strings and are refused, where ajv's coercion would take them) — and defaults
 * apply. Answers are serialized with JSON.stringify, as before: the response schemas document and
 * are tested (tests/hub/openapi.test.ts), but never filter what a handler returns.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { SwitchyardError } from '../../shared/errors.js';

const STRICT = { allErrors: false, strict: false, coerceTypes: false, removeAdditional: false, useDefaults: false } as const;

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'headers' };

/** `/tasks/1/title` as `tasks[1].title`: the way a person names the field. */
function fieldOf(part: string, instancePath: string): string {
  let out = part;
  for (const seg of instancePath.split('/').slice(1)) {
    const name = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(name) ? `[${name}]` : `.${name}`;
  }
  return out;
}

/**
 * One line per failing field: `body.tasks[1].title: must be string`. An `anyOf` (a union, a
 * nullable field) reports every branch, so errors are grouped by field, the values of
 * `const`/`enum` branches merged into one "must be one of", and the branches that say nothing
 * about the input ("must be null" of a nullable, "must match a schema in anyOf") dropped when
 * something else does.
 */
export function describeValidation(errors: readonly ErrorObject[], part: string): string {
  const byField = new Map<string, { consts: unknown[]; messages: string[]; filler: string[] }>();
  for (const e of errors) {
    const field = fieldOf(part, e.instancePath);
    let entry = byField.get(field);
    if (!entry) byField.set(field, (entry = { consts: [], messages: [], filler: [] }));
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'additionalProperties') entry.messages.push(`unknown field '${String(params.additionalProperty)}'`);
    else if (e.keyword === 'const') entry.consts.push(params.allowedValue);
    else if (e.keyword === 'enum') entry.consts.push(...(params.allowedValues as unknown[]));
    else if (e.keyword === 'anyOf' || (e.keyword === 'type' && params.type === 'null')) entry.filler.push(e.message ?? 'is invalid');
    else entry.messages.push(e.message ?? 'is invalid');
  }
  const fields = [...byField.keys()];
  const lines: string[] = [];
  for (const [field, { consts, messages, filler }] of byField) {
    if (consts.length > 0) messages.unshift(`must be one of ${consts.map((c) => JSON.stringify(c)).join(', ')}`);
    // A union that failed only because of a field inside it: that field's line says it.
    const inner = fields.some((f) => f !== field && (f.startsWith(`${field}.`) || f.startsWith(`${field}[`)));
    const said = messages.length > 0 ? messages : inner ? [] : filler;
    if (said.length > 0) lines.push(`${field}: ${[...new Set(said)].join(', ')}`);
  }
  return lines.slice(0, 3).join('; ') || `${part} is invalid`;
}

/** The VALIDATION_FAILED of a schema refusal; `details.errors` lists the failing fields (JSON pointers). */
export function validationError(errors: readonly ErrorObject[], httpPart: string): SwitchyardError {
  const part = PART_NAMES[httpPart] ?? httpPart;
  return new SwitchyardError('VALIDATION_FAILED', describeValidation(errors, part), {
    errors: errors.slice(0, 5).map((e) =>
      e.keyword === 'additionalProperties'
        ? { in: part, path: `${e.instancePath}/${String((e.params as { additionalProperty: string }).additionalProperty)}`, message: 'unknown field' }
        : { in: part, path: e.instancePath, message: e.message },
    ),
  });
}

/** Names of the properties a query-string schema declares as integers. */
function integerProperties(schema: TSchema): string[] {
  const props = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  return Object.entries(props)
    .filter(([, s]) => s.type === 'integer')
    .map(([name]) => name);
}

const DIGITS = /^\d+$/;

/**
 * Installs the compilers on `app`, with `shared` (schemas with an `$id`) known to both fastify
 * (so @fastify/swagger lists them as components) and the validator (so routes may `Ref` them).
 */
export function installValidation(app: FastifyInstance, shared: readonly TSchema[]): void {
  const ajv = new Ajv(STRICT);
  // Query strings never reference the shared schemas, and their defaults (limit) live there.
  const queryAjv = new Ajv({ ...STRICT, useDefaults: true });
  for (const schema of shared) {
    ajv.addSchema(schema);
    app.addSchema(schema);
  }

  app.setValidatorCompiler<TSchema>(({ schema, httpPart }) => {
    if (httpPart !== 'querystring') return ajv.compile(schema);
    const validate = queryAjv.compile(schema);
    const ints = integerProperties(schema);
    // Never throws (a throwing validator is a 500): it only converts, then asks ajv.
    const check = ((data: Record<string, unknown> | null) => {
      if (data !== null && typeof data === 'object') {
        for (const name of ints) {
          const v = data[name];
          if (typeof v === 'string' && DIGITS.test(v)) data[name] = Number(v);
        }
      }
      const ok = validate(data);
      check.errors = validate.errors;
      return ok;
    }) as ValidateFunction;
    return check;
  });
  app.setSchemaErrorFormatter((errors, dataVar) => validationError(errors as ErrorObject[], dataVar));
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/** `schema` with the description OpenAPI shows for an answer. */
export const answer = <T extends TSchema>(description: string, schema: T): T => ({ ...schema, description });

/** Every route's error answers: `{code, message, retryable}`, the code's status (docs/errors.md). */
export function withErrors<R extends Record<number, TSchema>>(ok: R, error: TSchema): FastifySchema['response'] & R {
  return {
    ...ok,
    '4xx': answer('Refused: the code says why (docs/errors.md); retryable says whether the same request can succeed later', error),
    '5xx': answer('The hub failed, or cannot take work now (STORE_CLOSED, STORE_DEGRADED)', error),
  };
}

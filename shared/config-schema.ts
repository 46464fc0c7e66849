/**
 * Configuration defined by schema: each setting is a TypeBox schema with its `default`, and these
 * keywords of our own (ajv ignores them):
 *
 *   env      the environment variable that sets it
 *   flag     the command-line flag that sets it (named in messages)
 *   secret   never echo the value in a message
 *   missing  the whole message when a required setting is absent (say how to give it)
 *   invalid  what to say instead of the rule derived from the schema; `{value}` is the value,
 *            `{allowed}` the values of a union of literals
 *   messages per-keyword texts (`{key}` is an unknown property's name), e.g. for a record's keys
 *
 * Layers merge default < file < env < flag (the sidecar has a file; the hub does not). Strings
 * from the environment and from flags are converted by the setting's type (integers, numbers,
 * booleans, comma-separated lists); the file's JSON is taken as it is. A problem is reported as
 * the setting's path, what it must be, the value it had, and where that value came from:
 * `port must be an integer from 0 to 65535, got 'eighty' (from SWITCHYARD_PORT)`.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Static, TObject, TSchema } from '@sinclair/typebox';

/** Our keywords on a setting's schema (see the module comment). */
export interface SettingKeywords {
  env?: string;
  flag?: string;
  secret?: boolean;
  missing?: string;
  invalid?: string;
  messages?: Record<string, string>;
}

type SchemaNode = TSchema & SettingKeywords & {
  type?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  anyOf?: SchemaNode[];
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  const?: unknown;
};

// Its own instance: defaults are filled in (only here: elsewhere a missing field is an error),
// every error is collected so the first in schema order can be reported, and each error carries
// the schema it failed, for our keywords.
const ajv = new Ajv({ allErrors: true, strict: false, verbose: true, useDefaults: true, coerceTypes: false });
const compiled = new WeakMap<TSchema, ValidateFunction>();

function validator(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/** A setting that is not valid: its path (`repos[0].path`) and the sentence to show. */
export interface ConfigProblem {
  field: string;
  message: string;
}

/** Where each top-level setting's value came from (`SWITCHYARD_PORT`, `--port`, a file's path). */
export type ConfigSources = Record<string, string>;

/**
 * Fills in the schema's defaults (in place) and checks `value`; returns the first problem in the
 * schema's own order, or null.
 */
export function checkConfig(schema: TObject, value: Record<string, unknown>, sources: ConfigSources = {}): ConfigProblem | null {
  const validate = validator(schema);
  if (validate(value)) return null;
  const errors = relevant(validate.errors ?? []);
  const order = Object.keys(schema.properties);
  const rank = (e: ErrorObject) => {
    const top = topKey(e);
    const i = top === null ? -1 : order.indexOf(top);
    return i < 0 ? order.length : i;
  };
  const first = errors.slice().sort((a, b) => rank(a) - rank(b))[0]!;
  return describe(first, value, sources);
}

/**
 * The errors worth reporting: a union's (anyOf/oneOf) own error stands for the errors of its
 * branches, which say only why each branch did not match.
 */
function relevant(errors: ErrorObject[]): ErrorObject[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => `${e.schemaPath}/`);
  return errors.filter((e) => !unions.some((u) => e.schemaPath.startsWith(u)));
}

function topKey(e: ErrorObject): string | null {
  const segments = e.instancePath.split('/').slice(1);
  if (segments.length > 0) return unescape(segments[0]!);
  if (e.keyword === 'required') return (e.params as { missingProperty: string }).missingProperty;
  if (e.keyword === 'additionalProperties') return (e.params as { additionalProperty: string }).additionalProperty;
  return null;
}

const unescape = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');

/** `/repos/0/path` → `repos[0].path`. */
function fieldOf(instancePath: string): string {
  let out = '';
  for (const raw of instancePath.split('/').slice(1)) {
    const s = unescape(raw);
    out += /^\d+$/.test(s) ? `[${s}]` : out === '' ? s : `.${s}`;
  }
  return out;
}

/** A value as a message shows it: strings in single quotes, the rest as JSON. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 200 ? `${value.slice(0, 200)}…` : value}'`;
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 200 ? `${json.slice(0, 200)}…` : json;
}

function describe(e: ErrorObject, root: Record<string, unknown>, sources: ConfigSources): ConfigProblem {
  const schema = (e.parentSchema ?? {}) as SchemaNode;
  const top = topKey(e);
  const from = top !== null && sources[top] ? ` (from ${sources[top]})` : '';
  if (e.keyword === 'required') {
    const name = (e.params as { missingProperty: string }).missingProperty;
    const field = fieldOf(`${e.instancePath}/${name}`);
    const own = schema.properties?.[name]?.missing;
    return { field, message: own ?? `${field} is missing` };
  }
  const field = fieldOf(e.instancePath);
  const at = field === '' ? 'the config' : field;
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    if (field === '') return { field: key, message: `'${key}' is not a setting${sources[key] ? ` (from ${sources[key]})` : ''}` };
    const text = schema.messages?.additionalProperties ?? "has '{key}', which it does not define";
    return { field, message: `${at} ${fill(text, { key })}${from}` };
  }
  const value = e.data;
  const template = schema.messages?.[e.keyword] ?? schema.invalid;
  const text = template !== undefined ? fill(template, { value: shown(value), allowed: allowed(schema) }) : rule(schema);
  // A list or an object would fill the line: the field's path says which one.
  const primitive = typeof value !== 'object' || value === null;
  const got = schema.secret || !primitive || template?.includes('{value}') ? '' : `, got ${shown(value)}`;
  return { field, message: `${at} ${text}${got}${from}` };
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, name: string) => values[name] ?? m);
}

function allowed(schema: SchemaNode): string {
  return (schema.anyOf ?? []).map((s) => String(s.const)).join(', ');
}

/** What a value must be, in words, from the schema it failed. */
function rule(s: SchemaNode): string {
  if (s.anyOf && s.anyOf.every((b) => b.const !== undefined)) return `must be one of ${allowed(s)}`;
  const range = (unit: string) =>
    s.minimum !== undefined && s.maximum !== undefined
      ? `must be ${unit} from ${s.minimum} to ${s.maximum}`
      : s.minimum !== undefined
        ? `must be ${unit} of at least ${s.minimum}`
        : `must be ${unit}`;
  switch (s.type) {
    case 'integer':
      return range('an integer');
    case 'number':
      return range('a number');
    case 'boolean':
      return 'must be true or false';
    case 'array':
      return 'must be a list';
    case 'object':
      return 'must be an object';
    case 'string':
      if (s.minLength !== undefined && s.maxLength !== undefined) return `must be a string of ${s.minLength} to ${s.maxLength} characters`;
      if (s.minLength === 1) return 'must not be empty';
      if (s.minLength !== undefined) return `must be at least ${s.minLength} characters`;
      return 'must be a string';
    default:
      return 'is not valid';
  }
}

/** A string from the environment or a flag, as the setting's type: a value the schema then checks. */
export function fromString(schema: TSchema, raw: string): unknown {
  const s = schema as SchemaNode;
  const type = s.type ?? (s.anyOf ?? []).map((b) => b.type).find((t) => t !== 'null');
  switch (type) {
    case 'integer':
    case 'number':
      // Anything else stays a string, and the message shows it as given.
      return /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : raw;
    case 'boolean':
      return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
    case 'array':
      return raw
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
        .map((v) => (s.items ? fromString(s.items, v) : v));
    default:
      return raw;
  }
}

/** The layers of a config, lowest first after the schema's defaults. */
export interface ConfigLayers {
  /** The config file's values and its path. */
  file?: { path: string; values: Record<string, unknown> };
  /** Read for the settings that name an `env` variable; empty values count as unset. */
  env?: NodeJS.ProcessEnv;
  /** Flags already parsed; undefined values count as unset, strings are converted by type. */
  flags?: Record<string, unknown>;
}

/** Merges default < file < env < flag; returns the values (defaults not yet filled) and where each came from. */
export function mergeLayers(schema: TObject, layers: ConfigLayers): { values: Record<string, unknown>; sources: ConfigSources } {
  const values: Record<string, unknown> = {};
  const sources: ConfigSources = {};
  const props = schema.properties as Record<string, SchemaNode>;
  if (layers.file) {
    for (const [key, v] of Object.entries(layers.file.values)) {
      values[key] = v;
      sources[key] = layers.file.path;
    }
  }
  for (const [key, prop] of Object.entries(props)) {
    const v = prop.env ? layers.env?.[prop.env] : undefined;
    if (v === undefined || v === '') continue;
    values[key] = fromString(prop, v);
    sources[key] = prop.env!;
  }
  for (const [key, v] of Object.entries(layers.flags ?? {})) {
    if (v === undefined) continue;
    const prop = props[key];
    values[key] = typeof v === 'string' && prop ? fromString(prop, v) : v;
    sources[key] = prop?.flag ?? `the ${key} option`;
  }
  return { values, sources };
}

/** The settings that have a default, with it. */
export function defaultsOf<T extends TObject>(schema: T): Partial<Static<T>> {
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties as Record<string, SchemaNode>)) {
    if (prop.default !== undefined) out[key] = structuredClone(prop.default);
  }
  return deepFreeze(out) as Partial<Static<T>>;
}

/** Freezes a parsed config and everything in it (lists and repo entries included). */
export function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

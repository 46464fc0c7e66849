/**
 * The one id rule, for every name that travels between the hub, its clients and the sidecars:
 * task ids and refs, agent ids, capabilities, repo names in a task, models, delegates. Safe in a
 * storage key, a URL path segment and a log line; `:` `/` `@` are allowed for names such as
 * `model:qwen2.5-coder:7b` or `org/repo`.
 */
import { Type } from '@sinclair/typebox';

/** Longest id. */
export const ID_MAX_CHARS = 64;
/** What an id is made of: a letter or digit, then letters, digits and `. _ : / @ -`. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:/@-]*$';

/** The id schema: 1–64 characters of ID_PATTERN. Plain JSON Schema: REST route schemas and OpenAPI use it as it is. */
export const Id = Type.String({ minLength: 1, maxLength: ID_MAX_CHARS, pattern: ID_PATTERN });

/** How a config error words an invalid id (shared/config-schema.ts's `invalid` keyword). */
export const ID_RULE = `must be 1-${ID_MAX_CHARS} of A-Z a-z 0-9 . _ : / @ - (starting with a letter or digit)`;

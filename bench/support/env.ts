/** Reading benchmark settings from the environment, strictly: a bad value stops the bench. */

/** A comma-separated list of positive integers (underscores allowed: 1_000_000). */
export function intList(name: string, raw: string): number[] {
  const values = raw.split(',').map((s) => Number(s.replace(/_/g, '').trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`${name} must be a comma-separated list of positive integers, got '${raw}'`);
  }
  return values;
}

/** How much reasoning a task needs; routing maps each to a tier of candidates (shared/routing.ts). */
export const COMPLEXITIES = ['trivial', 'standard', 'complex'] as const;
export type Complexity = (typeof COMPLEXITIES)[number];

/**
 * Agent names for onboarded hosts: ships of Iain M. Banks's Culture, written as agent ids
 * (lower case, words joined by '-'). The list ships with the package; `pickName` takes one that
 * no agent of the hub has, at random so that two hosts onboarding at once rarely want the same.
 */
import { randomInt } from 'node:crypto';

export const CULTURE_SHIPS: readonly string[] = [
  'So Much For Subtlety',
  'Sleeper Service',
  'Of Course I Still Love You',
  'Just Read The Instructions',
  'Limiting Factor',
  'Lasting Damage',
  'Arbitrary',
  'Bora Horza Gobuchul',
  'Experiencing A Significant Gravitas Shortfall',
  'Falling Outside The Normal Moral Constraints',
  'Attitude Adjuster',
  'Killing Time',
  'Frank Exchange Of Views',
  'Grey Area',
  'Unfortunate Conflict Of Evidence',
  'Very Little Gravitas Indeed',
  'Youthful Indiscretion',
  'Zero Gravitas',
  'No Fixed Abode',
  'Prosthetic Conscience',
  'Irregular Apocalypse',
  'Determinist',
  'Eschatologist',
  'Kiss This Then',
  'Unacceptable Behaviour',
  'Screw Loose',
  'Flexible Demeanour',
  'Just Testing',
  'Fate Amenable To Change',
  'Serious Callers Only',
  'Not Invented Here',
  'Lightly Seared On The Reality Grill',
  'You Would If You Really Loved Me',
  'Ethics Gradient',
  'Congenital Optimist',
  'Size Isnt Everything',
  'Well I Was In The Neighbourhood',
  'Total Internal Reflection',
  'Little Rascal',
  'Problem Child',
  'What Are The Civilian Applications',
  'Cargo Cult',
  'Steely Glint',
  'Shoot Them Later',
  'Charitable View',
  'Gunboat Diplomat',
  'Xenophobe',
  'Trade Surplus',
  'Use Psychology',
  'Reasonable Excuse',
  'Revisionist',
  'Pressure Drop',
  'Quietly Confident',
  'Sacrificial Victim',
  'Hand Me The Gun And Ask Me Again',
  'Nervous Energy',
  'Wisdom Like Silence',
  'Different Tan',
  'Empiricist',
  'Fixed Grin',
  'Hylozoist',
  'Jaundiced Outlook',
  'Liveware Problem',
  'Funny It Worked Last Time',
  'Only Slightly Bent',
  'Displacement Activity',
  'Credibility Problem',
  'Poke It With A Stick',
  'Sober Counsel',
  'Tactical Grace',
  'Caconym',
  'Appeal To Reason',
  'Partial Photic Boundary',
  'Not Wanted On Voyage',
  'Ultimate Ship The Second',
  'Refreshingly Unconcerned With The Vulgar Exigencies Of Veracity',
  'All Through With This Niceness And Negotiation Stuff',
  'Ravished By The Sheer Implausibility Of That Last Statement',
  'Lacking That Small Match Temperament',
  'Heavy Messing',
];

/** A ship's name as an agent id: `So Much For Subtlety` -> `so-much-for-subtlety` (at most 64 characters). */
export function shipSlug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
}

export const SHIP_SLUGS: readonly string[] = CULTURE_SHIPS.map(shipSlug);

/**
 * A name none of `taken` has: a free ship at random; when every ship is taken, a ship with the
 * first free number (`grey-area-2`).
 */
export function pickName(taken: ReadonlySet<string>, random: (n: number) => number = randomInt): string {
  const free = SHIP_SLUGS.filter((s) => !taken.has(s));
  if (free.length > 0) return free[random(free.length)]!;
  for (let n = 2; ; n++) {
    const numbered = SHIP_SLUGS.map((s) => `${s.slice(0, 60)}-${n}`).filter((s) => !taken.has(s));
    if (numbered.length > 0) return numbered[random(numbered.length)]!;
  }
}

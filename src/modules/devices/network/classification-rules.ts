import type { ConditionName } from '../tables.js';
import { isAllZeroOrTestTac } from '../../../identifiers/imei.js';
import { addDays } from './days.js';
import type { Classification, Condition, DeviceFacts } from './repository.js';

export interface DuplicateParams {
  maxImsis: number;
  windowDays: number;
}

const DUPLICATE_DEFAULTS: DuplicateParams = { maxImsis: 4, windowDays: 30 };

const positiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;

/** The `duplicate` condition's parameters, with defaults for any missing or unusable value. */
export function duplicateParams(conditions: Condition[]): DuplicateParams {
  const p = conditions.find((c) => c.name === 'duplicate')?.params ?? {};
  return {
    maxImsis: positiveInt(p.maxImsis) ? p.maxImsis : DUPLICATE_DEFAULTS.maxImsis,
    windowDays: positiveInt(p.windowDays) ? p.windowDays : DUPLICATE_DEFAULTS.windowDays,
  };
}

/**
 * Whether a dimension matches a device now, and whether the fact behind it still holds — which is what keeps a
 * sticky reason once the device is black (e.g. a clone stays black after its IMSIs leave the window; a stolen
 * phone only until it is unblocked). Network dimensions apply only to devices seen on a network.
 */
function evaluate(name: ConditionName, f: DeviceFacts, dup: DuplicateParams): { matches: boolean; holds: boolean } {
  const both = (v: boolean) => ({ matches: v, holds: v });
  switch (name) {
    case 'malformed':
      return both(f.seen && (!/^[0-9]{14}$/.test(f.imei14) || isAllZeroOrTestTac(f.imei14.slice(0, 8))));
    case 'tac_unknown':
      return both(f.seen && !f.tacKnown);
    case 'not_registered':
      return { matches: f.seen && !f.registered && f.homeUnpaired, holds: f.seen && !f.registered };
    case 'stolen':
      return both(f.stolen);
    case 'duplicate':
      return { matches: f.recentImsis > dup.maxImsis, holds: f.imsis > dup.maxImsis };
    case 'blocked_by_order':
      return both(f.ordered);
  }
}

/**
 * Classifies devices under the conditions on `today`: returns a device's classification, or null when it is clean
 * (no row needed). Reasons are the enabled conditions that match. With a blocking reason the device is grey until
 * the deadline — first flagged plus the smallest grace period of its blocking reasons — and black from that day on
 * (at once for a grace of 0). A device black for a sticky reason stays black while that reason's fact holds.
 */
export function classifier(conditions: Condition[], today: string): (f: DeviceFacts) => Classification | null {
  const dup = duplicateParams(conditions);
  const enabled = conditions.filter((c) => c.enabled).sort((a, b) => (a.name < b.name ? -1 : 1));
  const deadlines = new Map<string, string>();
  const deadlineOf = (firstFlagged: string, graceDays: number) => {
    const key = `${firstFlagged}+${graceDays}`;
    let day = deadlines.get(key);
    if (day === undefined) deadlines.set(key, (day = addDays(firstFlagged, graceDays)));
    return day;
  };
  return (f) => {
    const prev = f.previous;
    const wasBlackFor = (name: ConditionName) => prev?.status === 'black' && prev.reasons.includes(name);
    const reasons: ConditionName[] = [];
    let grace = Infinity;
    let stuck = false;
    for (const c of enabled) {
      const e = evaluate(c.name, f, dup);
      if (!e.matches && !(c.sticky && e.holds && wasBlackFor(c.name))) continue;
      reasons.push(c.name);
      if (!c.blocking) continue;
      grace = Math.min(grace, c.graceDays);
      stuck ||= c.sticky && wasBlackFor(c.name);
    }
    if (grace === Infinity) return reasons.length ? { status: 'white', reasons, firstFlagged: null, deadline: null } : null;
    const firstFlagged = prev?.firstFlagged ?? today;
    const deadline = deadlineOf(firstFlagged, grace);
    return { status: today >= deadline || stuck ? 'black' : 'grey', reasons, firstFlagged, deadline };
  };
}

export function sameClassification(a: Classification | null, b: Classification | null): boolean {
  if (!a || !b) return a === b;
  return (
    a.status === b.status &&
    a.firstFlagged === b.firstFlagged &&
    a.deadline === b.deadline &&
    [...a.reasons].sort().join('|') === [...b.reasons].sort().join('|')
  );
}

import type { Registry } from 'prom-client';
import type { Change } from '../../../core/changes.js';
import { maskMsisdn } from '../../../identifiers/msisdn.js';
import type { VoiceTables } from '../tables.js';
import { screeningRepository, type StatsIncrement } from './repository.js';
import { REASONS, type CallToScreen, type ScreeningResult } from './schema.js';

/** At most this many `voice.call.blocked` events per flush (the rest are counted in the last sampled event). */
const EVENTS_PER_FLUSH = 50;
const METRIC = 'qalqan_voice_calls_total';
/** Reason of the per-call rows: calls by verdict, whatever their reasons (not exported to Prometheus). */
const ALL = '*';
/** "verdict reason" keys made once, so counting a call builds no string. */
const SERIES_KEY: Record<string, Record<string, string>> = Object.fromEntries(
  ['allow', 'flag', 'block'].map((v) => [v, Object.fromEntries([ALL, 'none', ...REASONS].map((r) => [r, `${v} ${r}`]))]),
);

/** Runs work as one change of the voice tables and the outbox (a system change: nothing to audit). */
export type InChange = (work: (change: Change<VoiceTables>) => Promise<void>) => Promise<void>;

interface BlockedSample {
  callingNumber: string;
  calledNumber: string;
  reasons: string[];
  trunkId: string;
  operatorId: string | null;
  at: string;
}

/** One (verdict, reason, trunk, operator) series: its running total, and what the next flush adds to the day table. */
interface Series {
  verdict: string;
  reason: string;
  trunk: string;
  operator: string;
  total: number;
  pending: number;
  pendingDay: string;
}

/**
 * Counts every screened call without touching the database on the hot path: the Prometheus counter
 * `qalqan_voice_calls_total{verdict,reason,trunk,operator}` (kept by hand and exposed through the registry, so a
 * call costs a map lookup per reason), daily totals added to `voice_stats_daily` by `flush()`, and a sample of
 * blocked calls, with masked numbers, published as `voice.call.blocked` through the outbox. A failed flush keeps
 * everything for the next one.
 */
export function createVoiceCounters(deps: { registry: Registry }) {
  const series: Series[] = [];
  /** operator → trunk → "verdict reason" → series: nested lookups on strings the caller already holds, no key built per call. */
  const index = new Map<string, Map<string, Map<string, Series>>>();
  /** Counts left over when a series changed day before a flush (a call just after midnight). */
  let spilled: StatsIncrement[] = [];
  let samples: BlockedSample[] = [];
  let unsampled = 0;
  let dayStart = 0;
  let dayEnd = 0;
  let dayText = '';
  const dayOf = (ms: number) => {
    if (ms < dayStart || ms >= dayEnd) {
      dayStart = ms - (ms % 86_400_000);
      dayEnd = dayStart + 86_400_000;
      dayText = new Date(dayStart).toISOString().slice(0, 10);
    }
    return dayText;
  };

  /** The series of one operator and trunk (a call counts under two or three of them). */
  function seriesOf(operator: string, trunk: string): Map<string, Series> {
    let byTrunk = index.get(operator);
    if (!byTrunk) index.set(operator, (byTrunk = new Map()));
    let byKey = byTrunk.get(trunk);
    if (!byKey) byTrunk.set(trunk, (byKey = new Map()));
    return byKey;
  }

  function count(byKey: Map<string, Series>, verdict: string, reason: string, trunk: string, operator: string, day: string): void {
    const key = SERIES_KEY[verdict]?.[reason] ?? `${verdict} ${reason}`;
    let s = byKey.get(key);
    if (!s) {
      s = { verdict, reason, trunk, operator, total: 0, pending: 0, pendingDay: day };
      byKey.set(key, s);
      series.push(s);
    }
    s.total++;
    if (s.pendingDay !== day) {
      if (s.pending > 0) spilled.push({ day: s.pendingDay, operatorId: operator, verdict, reason, calls: s.pending });
      s.pending = 0;
      s.pendingDay = day;
    }
    s.pending++;
  }

  deps.registry.registerMetric({
    name: METRIC,
    help: 'Screened calls by verdict, reason (none for a clean call), trunk and receiving operator',
    type: 'counter',
    aggregator: 'sum',
    get: () => ({
      name: METRIC,
      help: 'Screened calls by verdict, reason (none for a clean call), trunk and receiving operator',
      type: 'counter',
      aggregator: 'sum',
      values: series
        .filter((s) => s.reason !== ALL)
        .map((s) => ({ labels: { verdict: s.verdict, reason: s.reason, trunk: s.trunk, operator: s.operator }, value: s.total })),
    }),
    reset: () => {
      series.length = 0;
      index.clear();
    },
  } as never);

  return {
    /** `trunk` is the metric label: a configured trunk's id, `api` or `unconfigured`. */
    record(call: CallToScreen, result: ScreeningResult, operatorId: string | null, atMs: number, trunk: string): void {
      const day = dayOf(atMs);
      const operator = operatorId ?? 'unknown';
      const byKey = seriesOf(operator, trunk);
      count(byKey, result.verdict, ALL, trunk, operator, day);
      if (result.reasons.length === 0) count(byKey, result.verdict, 'none', trunk, operator, day);
      for (const reason of result.reasons) count(byKey, result.verdict, reason, trunk, operator, day);
      if (result.verdict !== 'block') return;
      if (samples.length < EVENTS_PER_FLUSH) {
        samples.push({
          callingNumber: maskMsisdn(call.callingNumber),
          calledNumber: maskMsisdn(call.calledNumber),
          reasons: result.reasons,
          trunkId: trunk,
          operatorId,
          at: new Date(atMs).toISOString(),
        });
      } else unsampled++;
    },

    /** Adds the counts since the last flush to the daily table and publishes the sampled blocked calls. */
    async flush(inChange: InChange): Promise<void> {
      const rows = new Map<string, StatsIncrement>();
      const add = (r: StatsIncrement) => {
        const key = `${r.day}|${r.operatorId}|${r.verdict}|${r.reason}`;
        const row = rows.get(key);
        if (row) row.calls += r.calls;
        else rows.set(key, { ...r });
      };
      const taken: [Series, number][] = [];
      for (const s of series) {
        if (s.pending === 0 || s.reason === 'none') continue;
        add({ day: s.pendingDay, operatorId: s.operator, verdict: s.verdict, reason: s.reason, calls: s.pending });
        taken.push([s, s.pending]);
        s.pending = 0;
      }
      const spill = spilled.filter((r) => r.reason !== 'none');
      for (const r of spill) add(r);
      spilled = [];
      const sampled = samples;
      const skipped = unsampled;
      samples = [];
      unsampled = 0;
      if (rows.size === 0 && sampled.length === 0) return;
      try {
        await inChange(async (change) => {
          await screeningRepository(change.db).addStats([...rows.values()]);
          for (const [i, s] of sampled.entries()) {
            await change.publish('voice.call.blocked', { ...s, ...(i === sampled.length - 1 && skipped > 0 ? { alsoBlockedSinceLastSample: skipped } : {}) });
          }
        });
      } catch (err) {
        // Nothing is lost: the counts go back (as spilled rows, in case a series moved to a new day meanwhile).
        for (const [s, n] of taken) spilled.push({ day: s.pendingDay, operatorId: s.operator, verdict: s.verdict, reason: s.reason, calls: n });
        spilled.push(...spill);
        const kept = [...sampled, ...samples];
        samples = kept.slice(0, EVENTS_PER_FLUSH);
        unsampled += skipped + Math.max(0, kept.length - EVENTS_PER_FLUSH);
        throw err;
      }
    },
  };
}

export type VoiceCounters = ReturnType<typeof createVoiceCounters>;

import { Counter, type Registry } from 'prom-client';
import type { Executor } from '../../core/db/database.js';
import type { Outbox } from '../../core/events/outbox.js';
import { maskMsisdn } from '../../identifiers/msisdn.js';
import { voiceRepository, type StatsIncrement } from './repository.js';
import type { CallToScreen, ScreeningResult } from './types.js';

/** At most this many `voice.call.blocked` events per flush (the rest are counted in the next sampled event). */
const EVENTS_PER_FLUSH = 50;

interface BlockedSample {
  callingNumber: string;
  calledNumber: string;
  reasons: string[];
  trunkId: string | null;
  operatorId: string | null;
  at: string;
}

/**
 * Counts every screened call without touching the database on the hot path: Prometheus counters by verdict,
 * reason, trunk and operator; daily totals kept in memory and added to `voice_stats_daily` by `flush()`; and a
 * sample of blocked calls, with masked numbers, published as `voice.call.blocked` through the outbox. A failed
 * flush keeps everything for the next one.
 */
export function createVoiceCounters(deps: { registry: Registry; clock: () => Date }) {
  const calls = new Counter({
    name: 'qalqan_voice_calls_total',
    help: 'Screened calls by verdict, reason (none for a clean call), trunk and receiving operator',
    labelNames: ['verdict', 'reason', 'trunk', 'operator'],
    registers: [deps.registry],
  });
  const children = new Map<string, { inc(): void }>();
  let daily = new Map<string, StatsIncrement>();
  let samples: BlockedSample[] = [];
  let unsampled = 0;
  // The UTC day of the current call, recomputed only when a call falls outside the day last seen.
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

  function count(verdict: string, reason: string, trunk: string, operator: string): void {
    const key = `${verdict}|${reason}|${trunk}|${operator}`;
    let child = children.get(key);
    if (!child) children.set(key, (child = calls.labels(verdict, reason, trunk, operator)));
    child.inc();
  }

  /** Daily rows: reason `*` counts calls by verdict; each reason counts the calls it applied to. */
  function countDay(day: string, operator: string, verdict: string, reason: string): void {
    const dayKey = `${day}|${operator}|${verdict}|${reason}`;
    const row = daily.get(dayKey);
    if (row) row.calls++;
    else daily.set(dayKey, { day, operatorId: operator, verdict, reason, calls: 1 });
  }

  return {
    record(call: CallToScreen, result: ScreeningResult, operatorId: string | null): void {
      const now = deps.clock();
      const day = dayOf(now.getTime());
      const trunk = call.trunkId ?? 'api';
      const operator = operatorId ?? 'unknown';
      if (result.reasons.length === 0) count(result.verdict, 'none', trunk, operator);
      countDay(day, operator, result.verdict, '*');
      for (const reason of result.reasons) {
        count(result.verdict, reason, trunk, operator);
        countDay(day, operator, result.verdict, reason);
      }
      if (result.verdict !== 'block') return;
      if (samples.length < EVENTS_PER_FLUSH) {
        samples.push({ callingNumber: maskMsisdn(call.callingNumber), calledNumber: maskMsisdn(call.calledNumber), reasons: result.reasons, trunkId: call.trunkId ?? null, operatorId, at: now.toISOString() });
      } else unsampled++;
    },

    /** Adds the counts since the last flush to the daily table and publishes the sampled blocked calls. */
    async flush(db: Executor, outbox: Outbox): Promise<void> {
      if (daily.size === 0 && samples.length === 0) return;
      const rows = [...daily.values()];
      const sampled = samples;
      const skipped = unsampled;
      daily = new Map();
      samples = [];
      unsampled = 0;
      try {
        await db.transaction().execute(async (trx) => {
          await voiceRepository(trx).addStats(rows);
          for (const [i, s] of sampled.entries()) {
            await outbox.add(trx, 'voice.call.blocked', { ...s, ...(i === sampled.length - 1 && skipped > 0 ? { alsoBlockedSinceLastSample: skipped } : {}) });
          }
        });
      } catch (err) {
        // Put the counts back: nothing is lost, the next flush retries.
        for (const r of rows) {
          const key = `${r.day}|${r.operatorId}|${r.verdict}|${r.reason}`;
          const current = daily.get(key);
          if (current) current.calls += r.calls;
          else daily.set(key, r);
        }
        samples = [...sampled, ...samples].slice(0, EVENTS_PER_FLUSH);
        unsampled += skipped;
        throw err;
      }
    },
  };
}

export type VoiceCounters = ReturnType<typeof createVoiceCounters>;

import { sql } from 'kysely';
import type { Executor } from '../../core/db/database.js';
import type { Outbox } from '../../core/events/outbox.js';
import type { Logger } from '../../core/logger.js';
import { classifier, duplicateParams, sameClassification } from './classification-rules.js';
import { regenerateLists, type ListCounts } from './lists.js';
import { addDays, kzDay } from './network-days.js';
import { networkRepository, type Classification, type NetworkRepository } from './network-repository.js';

export interface ClassifyDeps {
  db: Executor;
  outbox: Outbox;
  clock: () => Date;
  logger: Logger;
}

export interface ClassifyCounts {
  examined: number;
  white: number;
  grey: number;
  black: number;
  changed: number;
}

export type ClassifyResult = ClassifyCounts & { lists: ListCounts };

const PAGE = 2_000;
/** Up to this many changed IMEIs are named in `devices.status.changed`; beyond it the event asks for a reload. */
const EVENT_IMEI_LIMIT = 10_000;
/** Arbitrary, fixed key of the advisory lock that lets one classification run at a time. */
const CLASSIFY_LOCK = 7_214_004_101;

async function* everyImei(repo: NetworkRepository): AsyncGenerator<string[]> {
  let after = '';
  for (;;) {
    const page = await repo.imeisToClassify(after, PAGE);
    if (page.length) yield page;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!;
  }
}

async function* pagesOf(imei14s: string[]): AsyncGenerator<string[]> {
  const sorted = [...new Set(imei14s)].sort();
  for (let i = 0; i < sorted.length; i += PAGE) yield sorted.slice(i, i + PAGE);
}

/** Classifies the given IMEIs (or every IMEI that needs it) inside `trx`, in pages, and records one change event. */
async function classifyIn(trx: Executor, deps: ClassifyDeps, imei14s: string[] | undefined): Promise<ClassifyCounts> {
  const repo = networkRepository(trx);
  await repo.withoutJit();
  const conditions = await repo.conditions();
  const now = deps.clock();
  const today = kzDay(now);
  const windowStart = addDays(today, -duplicateParams(conditions).windowDays);
  const decide = classifier(conditions, today);
  const counts: ClassifyCounts = { examined: 0, white: 0, grey: 0, black: 0, changed: 0 };
  const changed: string[] = [];
  for await (const page of imei14s ? pagesOf(imei14s) : everyImei(repo)) {
    const save: (Classification & { imei14: string })[] = [];
    const clear: string[] = [];
    for (const facts of await repo.facts(page, windowStart)) {
      const verdict = decide(facts);
      counts.examined++;
      counts[verdict?.status ?? 'white']++;
      if (sameClassification(facts.previous, verdict)) continue;
      counts.changed++;
      if (changed.length < EVENT_IMEI_LIMIT) changed.push(facts.imei14);
      if (verdict) save.push({ imei14: facts.imei14, ...verdict });
      else clear.push(facts.imei14);
    }
    await repo.saveClassifications(save, now);
    await repo.deleteClassifications(clear);
  }
  if (counts.changed > 0) {
    await deps.outbox.add(trx, 'devices.status.changed', counts.changed <= EVENT_IMEI_LIMIT ? { imei14s: changed } : { reload: true });
  }
  return counts;
}

/**
 * Re-classifies devices against the conditions: the given IMEIs (incremental), or every seen, stolen, ordered or
 * classified IMEI (full, in keyset pages). One run at a time across instances; the lists are regenerated after.
 */
export async function classify(deps: ClassifyDeps, options: { imei14s?: string[] } = {}): Promise<ClassifyResult> {
  const counts = await deps.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${CLASSIFY_LOCK})`.execute(trx);
    return classifyIn(trx, deps, options.imei14s);
  });
  return { ...counts, lists: await regenerateLists(deps) };
}

/** One scheduled full run, unless another instance is classifying right now; null when skipped. */
async function scheduledRun(deps: ClassifyDeps): Promise<ClassifyResult | null> {
  const counts = await deps.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${CLASSIFY_LOCK}) as locked`.execute(trx);
    return rows[0]?.locked ? classifyIn(trx, deps, undefined) : null;
  });
  return counts && { ...counts, lists: await regenerateLists(deps) };
}

/** Runs a full classification every `everyMs` (grace deadlines pass with time alone); returns a stop function. */
export function startClassificationSchedule(deps: ClassifyDeps, everyMs: number): () => Promise<void> {
  let running: Promise<void> | null = null;
  const tick = () => {
    running ??= scheduledRun(deps)
      .then((result) => {
        if (result) deps.logger.info({ ...result }, 'scheduled classification done');
      })
      .catch((err: unknown) => deps.logger.error({ err }, 'scheduled classification failed'))
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

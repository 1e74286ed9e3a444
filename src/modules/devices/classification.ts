import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Executor } from '../../core/db/database.js';
import type { Outbox } from '../../core/events/outbox.js';
import type { Logger } from '../../core/logger.js';
import { classifier, duplicateParams, sameClassification } from './classification-rules.js';
import { statusChange, type Eir, type EirChange } from './eir.js';
import { STATUS_BLACK, STATUS_GREY, STATUS_NONE, STATUS_WHITE, type StatusCode } from './eir-index.js';
import { regenerateLists, regenerateListsIn, type ListCounts } from './lists.js';
import { addDays, kzDay } from './network-days.js';
import { networkRepository, type Classification, type DeviceFacts, type NetworkRepository } from './network-repository.js';

/** What classification needs of the EIR. */
export type EirWriter = Pick<Eir, 'change' | 'apply'>;

export interface ClassifyDeps {
  db: Executor;
  outbox: Outbox;
  clock: () => Date;
  logger: Logger;
  /** This instance's EIR: a classification applies its changes there on commit (read your own writes). */
  eir?: EirWriter;
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
/**
 * Owed classifications are done this many IMEIs per transaction, with the event loop free between transactions: on
 * the embedded database every statement runs on the one thread that also answers the EIR, screening and SIP.
 */
const PENDING_PAGE = 250;
/** Up to this many changed IMEIs are named in `devices.status.changed`; beyond it the event asks for a reload. */
const EVENT_IMEI_LIMIT = 10_000;
/** Arbitrary, fixed key of the advisory lock that lets one classification run at a time. */
const CLASSIFY_LOCK = 7_214_004_101;

const EMPTY_COUNTS = (): ClassifyCounts => ({ examined: 0, white: 0, grey: 0, black: 0, changed: 0 });

/** The EIR status of a device from its facts and classification: a block beats a registration, which beats grey. */
export function eirCode(f: DeviceFacts, c: Classification | null): StatusCode {
  if (f.stolen || f.ordered || c?.status === 'black') return STATUS_BLACK;
  if (f.registered) return STATUS_WHITE;
  if (c?.status === 'grey') return STATUS_GREY;
  return STATUS_NONE;
}

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

/** The classifier for today under the current conditions, and the start of the duplicate window. */
async function decider(repo: NetworkRepository, now: Date) {
  const conditions = await repo.conditions();
  const today = kzDay(now);
  return { decide: classifier(conditions, today), windowStart: addDays(today, -duplicateParams(conditions).windowDays) };
}

/** Records, in the writer's transaction, that these IMEIs owe a classification (durably: it survives a crash). */
export async function queueClassification(trx: Executor, imei14s: string[]): Promise<void> {
  await networkRepository(trx).queuePending(imei14s);
}

/**
 * The EIR status each of these IMEIs gets once classified, decided from what `trx` sees (reads only): a writer
 * announces it in its event and applies it to its own index on commit, before the classification itself is settled.
 */
export async function statusesOf(trx: Executor, clock: () => Date, imei14s: string[]): Promise<[string, StatusCode][]> {
  if (!imei14s.length) return [];
  const repo = networkRepository(trx);
  const { decide, windowStart } = await decider(repo, clock());
  return (await repo.facts(imei14s, windowStart)).map((f) => [f.imei14, eirCode(f, decide(f))]);
}

/**
 * Classifies the given IMEIs (or every IMEI that needs it) inside `trx`, in pages, and records one change event
 * naming the new EIR status of each changed IMEI (of every IMEI examined with `announceAll`). Returns the change for
 * the caller to apply to its EIR once the transaction commits.
 */
async function classifyIn(trx: Executor, deps: ClassifyDeps, imei14s: string[] | undefined, announceAll = false): Promise<{ counts: ClassifyCounts; change: EirChange | null }> {
  const repo = networkRepository(trx);
  await repo.withoutJit();
  const now = deps.clock();
  const { decide, windowStart } = await decider(repo, now);
  const counts = EMPTY_COUNTS();
  const announced: [string, StatusCode][] = [];
  for await (const page of imei14s ? pagesOf(imei14s) : everyImei(repo)) {
    const save: (Classification & { imei14: string })[] = [];
    const clear: string[] = [];
    for (const facts of await repo.facts(page, windowStart)) {
      const verdict = decide(facts);
      counts.examined++;
      counts[verdict?.status ?? 'white']++;
      const same = sameClassification(facts.previous, verdict);
      if ((announceAll || !same) && announced.length <= EVENT_IMEI_LIMIT) announced.push([facts.imei14, eirCode(facts, verdict)]);
      if (same) continue;
      counts.changed++;
      if (verdict) save.push({ imei14: facts.imei14, ...verdict });
      else clear.push(facts.imei14);
    }
    await repo.saveClassifications(save, now);
    await repo.deleteClassifications(clear);
  }
  if (!announced.length) return { counts, change: null };
  if (announced.length > EVENT_IMEI_LIMIT) {
    await deps.outbox.add(trx, 'devices.status.changed', { reload: true });
    return { counts, change: null };
  }
  const change = deps.eir ? deps.eir.change(announced) : statusChange(announced);
  await deps.outbox.add(trx, 'devices.status.changed', { ...change });
  return { counts, change };
}

/**
 * Re-classifies devices against the conditions: the given IMEIs (incremental), or every seen, stolen, ordered or
 * classified IMEI (full, in keyset pages; it also settles every classification owed until it started). One run at a
 * time across instances; the lists are regenerated after.
 */
export async function classify(deps: ClassifyDeps, options: { imei14s?: string[] } = {}): Promise<ClassifyResult> {
  const { counts, change } = await deps.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${CLASSIFY_LOCK})`.execute(trx);
    return fullOrListed(trx, deps, options.imei14s);
  });
  if (change) deps.eir?.apply(change);
  return { ...counts, lists: await regenerateLists(deps) };
}

async function fullOrListed(trx: Executor, deps: ClassifyDeps, imei14s: string[] | undefined) {
  const owedUpTo = imei14s ? null : await networkRepository(trx).lastPendingMark();
  const result = await classifyIn(trx, deps, imei14s);
  if (owedUpTo !== null) await networkRepository(trx).settlePendingUpTo(owedUpTo);
  return result;
}

/**
 * Settles owed classifications (`queueClassification`), PENDING_PAGE IMEIs per transaction — classify them, bring
 * their list entries up to date, delete what was owed, announce the new statuses — yielding to the event loop
 * between transactions, until none is owed. Skips (and returns what it did so far) while another instance or run
 * holds the classification lock: that one settles them.
 */
export async function classifyPending(deps: ClassifyDeps): Promise<ClassifyResult> {
  const total: ClassifyResult = { ...EMPTY_COUNTS(), lists: { added: 0, removed: 0 } };
  for (;;) {
    const page = await deps.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${CLASSIFY_LOCK}) as locked`.execute(trx);
      if (!rows[0]?.locked) return null;
      const repo = networkRepository(trx);
      const owed = await repo.pendingPage(PENDING_PAGE);
      if (!owed.length) return null;
      const imei14s = owed.map((o) => o.imei14);
      const { counts, change } = await classifyIn(trx, deps, imei14s, true);
      const lists = await regenerateListsIn(trx, imei14s);
      await repo.settlePending(owed);
      return { counts, change, lists, more: owed.length === PENDING_PAGE };
    });
    if (!page) return total;
    if (page.change) deps.eir?.apply(page.change);
    for (const k of ['examined', 'white', 'grey', 'black', 'changed'] as const) total[k] += page.counts[k];
    total.lists.added += page.lists.added;
    total.lists.removed += page.lists.removed;
    if (!page.more) return total;
    await yieldToEventLoop();
  }
}

/**
 * Settles owed classifications now, on start (what a crash left between a write and its classification), on
 * `kick()`, and every `everyMs`; one settling at a time per instance, a kick during one asks for another after it.
 * A kick waits `gatherMs` before it starts settling, so that a stream of single writes (blocks at hundreds a second)
 * is settled a page at a time rather than one transaction each. Returns `kick` (resolves once a settling that
 * started after the call is done) and `stop`.
 */
export function startPendingClassification(deps: ClassifyDeps, everyMs: number, gatherMs = 0): { kick: () => Promise<void>; stop: () => Promise<void> } {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const settle = async () => {
    do {
      again = false;
      const result = await classifyPending(deps).catch((err: unknown) => {
        deps.logger.error({ err }, 'owed classification failed; will retry');
        return null;
      });
      if (result?.examined) deps.logger.info({ ...result }, 'owed classification done');
    } while (again && !stopped);
  };
  const kick = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = new Promise((resolve) => setTimeout(resolve, gatherMs))
      .then(settle)
      .finally(() => (running = null));
    return running;
  };
  void kick();
  const timer = setInterval(() => void kick(), everyMs);
  timer.unref();
  return {
    kick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** One scheduled full run, unless another instance is classifying right now; null when skipped. */
async function scheduledRun(deps: ClassifyDeps): Promise<ClassifyResult | null> {
  const run = await deps.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${CLASSIFY_LOCK}) as locked`.execute(trx);
    return rows[0]?.locked ? fullOrListed(trx, deps, undefined) : null;
  });
  if (!run) return null;
  if (run.change) deps.eir?.apply(run.change);
  return { ...run.counts, lists: await regenerateLists(deps) };
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

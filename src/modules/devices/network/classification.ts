import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sql } from 'kysely';
import { systemContext } from '../../../core/auth/principal.js';
import type { Change, RunChange } from '../../../core/changes.js';
import type { Logger } from '../../../core/logger.js';
import type { Eir } from '../eir/eir.js';
import { STATUS_BLACK, STATUS_GREY, STATUS_NONE, STATUS_WHITE, statusChange, type EirChange, type StatusCode } from '../eir/status.js';
import type { DevicesDb, DevicesTables } from '../tables.js';
import { classifier, duplicateParams, sameClassification } from './classification-rules.js';
import { regenerateLists, regenerateListsIn, type ListCounts } from './lists.js';
import { addDays, kzDay } from './days.js';
import { networkRepository, type Classification, type DeviceFacts, type NetworkRepository } from './repository.js';

/** What classification, and the changes that owe one, need of the EIR. */
export type EirWriter = Pick<Eir, 'change' | 'apply' | 'pairingNotice' | 'applyPairing' | 'refresh' | 'reloadNotice'>;

export interface ClassifyDeps {
  db: DevicesDb;
  /** Runs a change of this module's tables with its events (`createChanges`). */
  run: RunChange<DevicesTables>;
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
export const CLASSIFY_LOCK = 7_214_004_101;
/**
 * How long a settling waits for the classification lock while another run holds it (a full run, or another
 * instance's settling) before it leaves what is owed to the next settling; it asks again every 20–500 ms.
 */
export const SETTLE_LOCK_WAIT_MS = 30_000;

/** Classification runs are the system's: they write no audit entry, only their events. */
const CLASSIFICATION = systemContext('classification');

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
export async function queueClassification(trx: DevicesDb, imei14s: string[]): Promise<void> {
  await networkRepository(trx).queuePending(imei14s);
}

/**
 * The EIR status each of these IMEIs gets once classified, decided from what `trx` sees (reads only): a writer
 * announces it in its event and applies it to its own index on commit, before the classification itself is settled.
 */
export async function statusesOf(trx: DevicesDb, clock: () => Date, imei14s: string[]): Promise<[string, StatusCode][]> {
  if (!imei14s.length) return [];
  const repo = networkRepository(trx);
  const { decide, windowStart } = await decider(repo, clock());
  return (await repo.facts(imei14s, windowStart)).map((f) => [f.imei14, eirCode(f, decide(f))]);
}

/**
 * Classifies the given IMEIs (or every IMEI that needs it) inside `trx`, in pages, and records one change event
 * naming the new EIR status of each changed IMEI (of every IMEI examined with `announceAll`). Returns the change for
 * the caller to apply to its EIR once the transaction commits, or `reload` when too many changed to name them: the
 * event then asks every other instance to rebuild, and the caller rebuilds its own EIR after the commit.
 */
async function classifyIn(
  change: Change<DevicesTables>,
  deps: ClassifyDeps,
  imei14s: string[] | undefined,
  announceAll = false,
): Promise<{ counts: ClassifyCounts; change: EirChange | null; reload?: true }> {
  const repo = networkRepository(change.db);
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
    // On the embedded database a transaction's statements follow each other without the event loop turning.
    await yieldToEventLoop();
  }
  if (!announced.length) return { counts, change: null };
  if (announced.length > EVENT_IMEI_LIMIT) {
    await change.publish('devices.status.changed', deps.eir ? deps.eir.reloadNotice() : { reload: true });
    return { counts, change: null, reload: true };
  }
  const statuses = deps.eir ? deps.eir.change(announced) : statusChange(announced);
  await change.publish('devices.status.changed', { ...statuses });
  return { counts, change: statuses };
}

/**
 * Re-classifies devices against the conditions: the given IMEIs (incremental), or every seen, stolen, ordered or
 * classified IMEI (full, in keyset pages; it also settles every classification owed until it started). One run at a
 * time across instances; the lists are regenerated after.
 */
export async function classify(deps: ClassifyDeps, options: { imei14s?: string[] } = {}): Promise<ClassifyResult> {
  const run = await deps.run(CLASSIFICATION, async (change) => {
    await sql`select pg_advisory_xact_lock(${CLASSIFY_LOCK})`.execute(change.db);
    return fullOrListed(change, deps, options.imei14s);
  });
  await applyCommitted(deps, run);
  return { ...run.counts, lists: await regenerateLists(deps) };
}

/** Brings the writer's EIR up to date with a committed classification before the caller answers (read your own writes). */
async function applyCommitted(deps: ClassifyDeps, run: { change: EirChange | null; reload?: true }): Promise<void> {
  if (run.change) deps.eir?.apply(run.change);
  if (run.reload) await deps.eir?.refresh();
}

async function fullOrListed(change: Change<DevicesTables>, deps: ClassifyDeps, imei14s: string[] | undefined) {
  const repo = networkRepository(change.db);
  const owedUpTo = imei14s ? null : await repo.lastPendingMark();
  const result = await classifyIn(change, deps, imei14s);
  if (owedUpTo !== null) await repo.settlePendingUpTo(owedUpTo);
  return result;
}

/**
 * Settles owed classifications (`queueClassification`), PENDING_PAGE IMEIs per transaction — delete what was owed
 * (unless queued again meanwhile), classify those, bring their list entries up to date, announce the new statuses —
 * yielding to the event loop between transactions, until none is owed. While another run holds the classification
 * lock it waits for it (up to `lockWaitMs`, asking again with a growing pause), then settles what is still owed;
 * past that wait it returns what it did so far and leaves the rest to the next settling.
 */
export async function classifyPending(deps: ClassifyDeps, options: { lockWaitMs?: number } = {}): Promise<ClassifyResult> {
  const lockWaitMs = options.lockWaitMs ?? SETTLE_LOCK_WAIT_MS;
  let total: ClassifyResult = { ...EMPTY_COUNTS(), lists: { added: 0, removed: 0 } };
  let busySince: number | null = null;
  let pause = 20;
  for (;;) {
    const page = await deps.run(CLASSIFICATION, async (change) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${CLASSIFY_LOCK}) as locked`.execute(change.db);
      if (!rows[0]?.locked) return 'busy' as const;
      const repo = networkRepository(change.db);
      const owed = await repo.pendingPage(PENDING_PAGE);
      if (!owed.length) return null;
      // Settled first, then classified: an IMEI a change queues again meanwhile is left for the next settling, so this
      // one never announces a status older than that change's.
      const imei14s = await repo.settlePending(owed);
      const { counts, change: statuses } = imei14s.length ? await classifyIn(change, deps, imei14s, true) : { counts: EMPTY_COUNTS(), change: null };
      await yieldToEventLoop();
      const lists = await regenerateListsIn(change.db, imei14s);
      return { counts, change: statuses, lists, more: owed.length === PENDING_PAGE };
    });
    if (page === 'busy') {
      busySince ??= performance.now();
      const left = lockWaitMs - (performance.now() - busySince);
      if (left <= 0) {
        deps.logger.warn({ waitedMs: lockWaitMs }, 'classification lock still held: owed classifications left to the next settling');
        return total;
      }
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, 500);
      continue;
    }
    busySince = null;
    pause = 20;
    if (!page) return total;
    if (page.change) deps.eir?.apply(page.change);
    total = sumResults(total, { ...page.counts, lists: page.lists });
    if (!page.more) return total;
    await yieldToEventLoop();
  }
}

/**
 * This instance's settling of owed classifications, one at a time: a call while one runs waits for it and then for
 * one more that starts after it (the running one may have read what was owed before the caller's commit), and
 * resolves to the counts of both. An import and the background wake-ups share it, so the devices of one import are
 * counted in its report even when a wake-up's settling classified them.
 */
export function pendingSettler(deps: ClassifyDeps): () => Promise<ClassifyResult> {
  let running: Promise<ClassifyResult> | null = null;
  let next: Promise<ClassifyResult> | null = null;
  const start = (): Promise<ClassifyResult> => {
    running = classifyPending(deps).finally(() => (running = null));
    return running;
  };
  return () => {
    if (!running) return start();
    const current = running;
    next ??= current
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        next = null;
        return running ?? start();
      });
    return Promise.all([current.catch(() => null), next]).then(([a, b]) => (a ? sumResults(a, b) : b));
  };
}

function sumResults(a: ClassifyResult, b: ClassifyResult): ClassifyResult {
  return {
    examined: a.examined + b.examined,
    white: a.white + b.white,
    grey: a.grey + b.grey,
    black: a.black + b.black,
    changed: a.changed + b.changed,
    lists: { added: a.lists.added + b.lists.added, removed: a.lists.removed + b.lists.removed },
  };
}

/**
 * Settles owed classifications through `settle` now, on start (what a crash left between a write and its
 * classification), on `kick()`, and every `everyMs`. A kick waits `gatherMs` before it settles, so that a stream of
 * single writes (blocks at hundreds a second) is settled a page at a time rather than one transaction each; kicks
 * while it waits join it. Returns `kick` (resolves once that settling is done) and `stop`.
 */
export function startPendingClassification(
  deps: ClassifyDeps,
  settle: () => Promise<ClassifyResult>,
  everyMs: number,
  gatherMs = 0,
): { kick: () => Promise<void>; stop: () => Promise<void> } {
  let gathering: Promise<void> | null = null;
  let stopped = false;
  const kick = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    gathering ??= new Promise((resolve) => setTimeout(resolve, gatherMs))
      .then(() => {
        gathering = null;
        return stopped ? null : settle();
      })
      .then(
        (result) => {
          if (result?.examined) deps.logger.info({ ...result }, 'owed classification done');
        },
        (err: unknown) => deps.logger.error({ err }, 'owed classification failed; will retry'),
      );
    return gathering;
  };
  let last = kick();
  const timer = setInterval(() => (last = kick()), everyMs);
  timer.unref();
  return {
    kick: () => (last = kick()),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await last;
    },
  };
}

/** One scheduled full run, unless another instance is classifying right now; null when skipped. */
async function scheduledRun(deps: ClassifyDeps): Promise<ClassifyResult | null> {
  const run = await deps.run(CLASSIFICATION, async (change) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${CLASSIFY_LOCK}) as locked`.execute(change.db);
    return rows[0]?.locked ? fullOrListed(change, deps, undefined) : null;
  });
  if (!run) return null;
  await applyCommitted(deps, run);
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

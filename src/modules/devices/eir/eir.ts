import { randomUUID } from 'node:crypto';
import { DomainError } from '../../../core/errors.js';
import type { EventBus } from '../../../core/events/bus.js';
import type { Logger } from '../../../core/logger.js';
import { packImei14 } from '../../../identifiers/imei.js';
import { PackedStatusIndex } from './packed-index.js';
import type { EirRepository } from './repository.js';
import { STATUS_BLACK, STATUS_CODE, STATUS_GREY, STATUS_WHITE, statusChange, type EirChange, type IndexStatus, type StatusCode } from './status.js';
import { TacSet } from './tac-set.js';

/** Asked before the index has loaded: the caller answers 503. */
export class EirNotReadyError extends DomainError {
  constructor() {
    super('unavailable', 'the equipment identity register is loading');
  }
}

export type EquipmentStatus = 'WHITELISTED' | 'GREYLISTED' | 'BLACKLISTED';

export type EirAnswer = { status: EquipmentStatus; tac: string } | { unknownTac: string };

const CODE_OF_SOURCE = { registrations: STATUS_WHITE, stolen: STATUS_BLACK, orders: STATUS_BLACK } as const;

/** The `EirChange` fields of an event payload, or null when it has none. */
function changeIn(payload: Record<string, unknown>): EirChange | null {
  const statuses = payload.statuses;
  if (!statuses || typeof statuses !== 'object' || Array.isArray(statuses)) return null;
  return { statuses: statuses as Record<string, IndexStatus>, origin: typeof payload.origin === 'string' ? payload.origin : undefined };
}

/**
 * The equipment identity register's in-memory view: a packed status per IMEI and the set of known TACs, loaded
 * from the database on start and kept in step by `devices.*` events. A status change is applied by the instance
 * that committed it right after the commit (read your own writes) and, from the event's `statuses`, by every other
 * instance without a database read; a TAC import, a change too big to name its IMEIs and the periodic full reload
 * rebuild the index from the database (changes applied while a rebuild reads are applied again on top of it).
 */
export function createEir(deps: { repo: () => EirRepository; bus: EventBus; logger: Logger; reloadEveryMs?: number }) {
  const origin = randomUUID();
  let index: PackedStatusIndex | null = null;
  let tacs = TacSet.build([]);
  let pairings = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  /** Changes applied while a rebuild reads the database, applied again to the rebuilt index. */
  let duringReload: [number, StatusCode][] | null = [];
  let reloading: Promise<void> | null = null;
  /** Pairing changes applied while the pairings are read, applied again to what was read. */
  let pairingsDuringReload: [string, boolean][] | null = null;
  let reloadAgain = false;

  async function* entries(): AsyncGenerator<[number, StatusCode]> {
    for await (const row of deps.repo().statusSources()) {
      if (row.table === 'classification') {
        if (row.status === 'black') yield [packImei14(row.imei14), STATUS_BLACK];
        else if (row.status === 'grey') yield [packImei14(row.imei14), STATUS_GREY];
      } else yield [packImei14(row.imei14), CODE_OF_SOURCE[row.table]];
    }
  }

  async function rebuild(): Promise<void> {
    const started = performance.now();
    const repo = deps.repo();
    duringReload ??= [];
    try {
      const [nextIndex, nextTacs] = await Promise.all([PackedStatusIndex.build(entries()), repo.allTacs().then((t) => TacSet.build(t)), reloadPairings()]);
      for (const [key, code] of duringReload) nextIndex.set(key, code);
      index = nextIndex;
      tacs = nextTacs;
      deps.logger.info({ imeis: nextIndex.size, tacs: tacs.size, ms: Math.round(performance.now() - started) }, 'EIR index loaded');
    } finally {
      duringReload = null;
    }
  }

  /** Rebuilds from the database; a call while a rebuild runs waits for one more rebuild that starts after it. */
  function reload(): Promise<void> {
    if (reloading) {
      reloadAgain = true;
      return reloading;
    }
    reloading = (async () => {
      try {
        do {
          reloadAgain = false;
          await rebuild();
        } while (reloadAgain);
      } finally {
        reloading = null;
      }
    })();
    return reloading;
  }

  async function reloadPairings(): Promise<void> {
    pairingsDuringReload ??= [];
    try {
      const next = new Set((await deps.repo().allPairings()).map((x) => `${x.imei14}:${x.imsi}`));
      for (const [key, paired] of pairingsDuringReload) {
        if (paired) next.add(key);
        else next.delete(key);
      }
      pairings = next;
    } finally {
      pairingsDuringReload = null;
    }
  }

  function applyPairing(imei14: string, imsi: string, paired: boolean): void {
    const key = `${imei14}:${imsi}`;
    if (paired) pairings.add(key);
    else pairings.delete(key);
    pairingsDuringReload?.push([key, paired]);
  }

  function apply(change: EirChange): void {
    for (const [imei14, status] of Object.entries(change.statuses)) {
      const key = packImei14(imei14);
      const code = STATUS_CODE[status];
      index?.set(key, code);
      duringReload?.push([key, code]);
    }
  }

  return {
    /** Loads the index and subscribes to changes (subscribing first, so nothing between load and subscribe is missed). */
    async start(): Promise<void> {
      await deps.bus.subscribe(
        'devices-eir',
        'devices.>',
        async (event) => {
          const change = changeIn(event.payload);
          if (change) {
            if (change.origin !== origin) apply(change);
          } else if (event.topic.startsWith('devices.pairing.')) {
            // The event does not carry the IMSI (a subscriber's identifier): other instances read the pairings again.
            if (event.payload.origin !== origin) await reloadPairings();
          } else if ((event.payload.reload === true || event.topic === 'devices.tac.imported') && event.payload.origin !== origin) await reload();
        },
        { fanout: true },
      );
      await reload();
      if (deps.reloadEveryMs) {
        timer = setInterval(() => void reload().catch((err) => deps.logger.warn({ err }, 'EIR reload failed')), deps.reloadEveryMs);
        timer.unref();
      }
    },
    stop(): void {
      if (timer) clearInterval(timer);
    },
    reload,
    /**
     * The writer's rebuild after its commit (read your own writes) — when this process keeps an index: one that never
     * loaded it (a CLI command) answers no checks, and skips the rebuild.
     */
    refresh: (): Promise<void> => (index === null && !reloading ? Promise.resolve() : reload()),

    /** The event fields asking every other instance to rebuild (the writer rebuilds itself on commit). */
    reloadNotice: () => ({ reload: true, origin }),

    /** The event fields announcing these statuses (put them in the payload inside the writing transaction). */
    change: (statuses: Iterable<readonly [string, StatusCode]>): EirChange => statusChange(statuses, origin),

    /** Applies a committed change to this instance's index now (the writer, right after its commit). */
    apply,

    /** The event fields of a pairing change: the instance that applies it itself on commit. */
    pairingNotice: () => ({ origin }),

    /** Applies a committed pairing (or its removal) to this instance now (the writer, right after its commit). */
    applyPairing,

    /**
     * The N5g-eir decision for a PEI's first 14 digits, from memory. `paired` (this IMEI with this IMSI) turns grey
     * into white here; for a black answer the service asks the database whether the block is only non-registration.
     */
    check(imei14: string, imsi: string | null): EirAnswer & { paired?: boolean } {
      const tac = imei14.slice(0, 8);
      if (!tacs.has(tac)) return { unknownTac: tac };
      if (!index) throw new EirNotReadyError();
      const code = index.getImei(imei14);
      const paired = imsi !== null && pairings.has(`${imei14}:${imsi}`);
      if (code === STATUS_BLACK) return { status: 'BLACKLISTED', tac, paired };
      if (code === STATUS_WHITE || paired) return { status: 'WHITELISTED', tac, paired };
      return { status: 'GREYLISTED', tac, paired };
    },

    stats: () => (index ? { ...index.counts(), imeis: index.size, tacs: tacs.size, bytesPerImei: index.bytesPerEntry() } : null),
  };
}

export type Eir = ReturnType<typeof createEir>;

import { DomainError } from '../../core/errors.js';
import type { EventBus } from '../../core/events/bus.js';
import type { Logger } from '../../core/logger.js';
import { packImei14, parseImei } from '../../identifiers/imei.js';
import { PackedStatusIndex, STATUS_BLACK, STATUS_GREY, STATUS_NONE, STATUS_WHITE, TacSet, type StatusCode } from './eir-index.js';
import type { DevicesRepository, ImeiFacts } from './repository.js';

/** Asked before the index has loaded: the caller answers 503. */
export class EirNotReadyError extends DomainError {
  constructor() {
    super('unavailable', 'the equipment identity register is loading');
  }
}

export type EquipmentStatus = 'WHITELISTED' | 'GREYLISTED' | 'BLACKLISTED';

export type EirAnswer = { status: EquipmentStatus; tac: string } | { unknownTac: string };

/** What the database says an IMEI's index code is: a block beats a registration, which beats grey. */
export function codeOf(f: ImeiFacts): StatusCode {
  if (f.stolen || f.ordered || f.classified === 'black') return STATUS_BLACK;
  if (f.registered) return STATUS_WHITE;
  if (f.classified === 'grey') return STATUS_GREY;
  return STATUS_NONE;
}

const CODE_OF_SOURCE = { registrations: STATUS_WHITE, stolen: STATUS_BLACK, orders: STATUS_BLACK } as const;

/**
 * The equipment identity register's in-memory view: a packed status per IMEI and the set of known TACs, loaded
 * from the database on start and kept in step by `devices.*` events (each event names the IMEIs to re-read, so
 * replays and reordering are harmless) and by a periodic full reload.
 */
export function createEir(deps: { repo: () => DevicesRepository; bus: EventBus; logger: Logger; reloadEveryMs?: number }) {
  let index: PackedStatusIndex | null = null;
  let tacs = TacSet.build([]);
  let pairings = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let loaded = false;

  async function* entries(): AsyncGenerator<[number, StatusCode]> {
    for await (const row of deps.repo().statusSources()) {
      if (row.table === 'classification') {
        if (row.status === 'black') yield [packImei14(row.imei14), STATUS_BLACK];
        else if (row.status === 'grey') yield [packImei14(row.imei14), STATUS_GREY];
      } else yield [packImei14(row.imei14), CODE_OF_SOURCE[row.table]];
    }
  }

  async function reload(): Promise<void> {
    const started = performance.now();
    const repo = deps.repo();
    const [nextIndex, nextTacs] = await Promise.all([
      PackedStatusIndex.build(entries()),
      repo.allTacs().then((t) => TacSet.build(t)),
      reloadPairings(),
    ]);
    index = nextIndex;
    tacs = nextTacs;
    loaded = true;
    deps.logger.info({ imeis: nextIndex.size, tacs: tacs.size, ms: Math.round(performance.now() - started) }, 'EIR index loaded');
  }

  async function reloadPairings(): Promise<void> {
    pairings = new Set((await deps.repo().allPairings()).map((x) => `${x.imei14}:${x.imsi}`));
  }

  async function refresh(imei14s: string[]): Promise<void> {
    const facts = await deps.repo().facts(imei14s);
    for (const f of facts) index?.set(packImei14(f.imei14), codeOf(f));
  }

  return {
    /** Loads the index and subscribes to changes (subscribing first, so nothing between load and subscribe is missed). */
    async start(): Promise<void> {
      const pending: Promise<void>[] = [];
      await deps.bus.subscribe('devices-eir', 'devices.>', async (event) => {
        const p = event.payload;
        const work = (async () => {
          if (event.topic.startsWith('devices.pairing.')) await reloadPairings();
          else if (p.reload === true || event.topic === 'devices.tac.imported') await reload();
          else if (Array.isArray(p.imei14s)) await refresh(p.imei14s.map(String));
          else if (typeof p.imei14 === 'string') await refresh([p.imei14]);
        })();
        if (!loaded) pending.push(work.catch(() => undefined));
        await work;
      }, { fanout: true });
      await reload();
      await Promise.all(pending);
      if (deps.reloadEveryMs) {
        timer = setInterval(() => void reload().catch((err) => deps.logger.warn({ err }, 'EIR reload failed')), deps.reloadEveryMs);
        timer.unref();
      }
    },
    stop(): void {
      if (timer) clearInterval(timer);
    },
    reload,
    refresh,

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

/** `imei-` + 15 digits or `imeisv-` + 16 digits → the 14 digits that identify the device (the 15th never decides). */
export function peiToImei14(pei: string): string | null {
  const m = /^(?:imei-([0-9]{15})|imeisv-([0-9]{16}))$/.exec(pei);
  if (!m) return null;
  const parsed = parseImei((m[1] ?? m[2])!, { network: true });
  return parsed.ok ? parsed.imei14 : null;
}

/** `imsi-<digits>` → the IMSI, or null. */
export function supiToImsi(supi: string | undefined): string | null {
  const m = supi ? /^imsi-([0-9]{5,15})$/.exec(supi) : null;
  return m ? m[1]! : null;
}

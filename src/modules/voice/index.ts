import { createChanges, tablesOf } from '../../core/changes.js';
import type { Subscription } from '../../core/events/bus.js';
import type { ModuleDeps } from '../../core/module.js';
import { addressMatcher } from '../../core/net.js';
import { referenceRepository } from './reference/repository.js';
import { referenceRoutes } from './reference/routes.js';
import { createReferenceService } from './reference/service.js';
import { createVoiceCounters } from './screening/counters.js';
import { screeningRepository } from './screening/repository.js';
import { screeningPolicyRoutes, screeningRoutes } from './screening/routes.js';
import type { Ingress } from './screening/schema.js';
import { createScreeningService } from './screening/service.js';
import { VoiceIndex } from './screening/voice-index.js';
import { createSipServer, type SipServer, type TcpLimits } from './sip/server.js';
import type { CertificateFetcher } from './stir/fetcher.js';
import { stirRoutes } from './stir/routes.js';
import { CERTIFICATES_CHANGED, createStirService } from './stir/service.js';
import type { VoiceTables } from './tables.js';

export { voiceCommands } from './cli.js';
export { DEMO_ROAMER, DEMO_SPOOFED_CLI, loadVoiceDemo, type VoiceDemoContexts } from './demo.js';
export type { CallToScreen, Ingress, ScreeningResult, Verdict } from './screening/schema.js';

export interface VoiceOptions {
  /** How long a roaming report holds unless refreshed (default 24 h). */
  roamingTtlMs?: number;
  /** Base of the STIR/SHAKEN certificate URLs (x5u; default http://localhost:8080). */
  publicBaseUrl?: string;
  /** Fetches an x5u that is not in the certificate store (default HTTPS); tests inject their own. */
  fetchCertificate?: CertificateFetcher;
  /** The clock in milliseconds, read on every screened call (default: `clock().getTime()`). */
  now?: () => number;
}

export interface SipOptions {
  host: string;
  port: number;
  /** Addresses/CIDRs allowed to set the ingress with X-Qalqan-Ingress. */
  trusted: string[];
  defaultIngress: Ingress;
  /** TCP limits (tests lower them). */
  tcp?: Partial<TcpLimits>;
}

const FLUSH_EVERY_MS = 5_000;
const RELOAD_EVERY_MS = 15 * 60_000;

/**
 * The voice module: call screening (the screen routes also on the SBI), the reference data it answers from, the
 * SIP redirect server in front of it and STIR/SHAKEN.
 */
export function createVoiceModule(deps: ModuleDeps & VoiceOptions) {
  const db = tablesOf<VoiceTables>(deps.db);
  const run = createChanges<VoiceTables>(deps);
  const { bus, clock, logger } = deps;
  const now = deps.now ?? (() => clock().getTime());
  const index = new VoiceIndex(now);
  const roamingTtlMs = deps.roamingTtlMs ?? 24 * 3_600_000;
  const stir = createStirService({
    db,
    run,
    orgs: deps.orgs,
    clock,
    ids: deps.ids,
    secret: deps.secret,
    publicBaseUrl: deps.publicBaseUrl ?? 'http://localhost:8080',
    fetchCertificate: deps.fetchCertificate,
    logger,
  });
  const counters = createVoiceCounters({ registry: deps.metrics.registry });
  const screening = createScreeningService({ db, run, orgs: deps.orgs, index, counters, clock, now, verifier: stir.verifier });
  const reference = createReferenceService({ db, run, orgs: deps.orgs, index, clock, logger, roamingTtlMs, ingest: deps.ingest });
  const source = { ...referenceRepository(db), ...screeningRepository(db) };
  const subscriptions: Subscription[] = [];
  const timers: NodeJS.Timeout[] = [];

  async function reload(): Promise<void> {
    await index.loadAll(source);
    await stir.verifier.reload();
  }

  /**
   * Change events keep every instance's index in step (fan-out: each instance gets each). Subscribing before the
   * load means no change published during it is missed (roaming changes arriving meanwhile are re-read after it).
   */
  async function followChanges(): Promise<Subscription[]> {
    const fanout = { fanout: true };
    const numbers = (v: unknown) => (Array.isArray(v) ? v.filter((n): n is string => typeof n === 'string') : []);
    return [
      await bus.subscribe('voice-roaming', 'voice.roaming.changed', (e) => index.refreshRoaming(source, numbers(e.payload.msisdns)), fanout),
      await bus.subscribe(
        'voice-lists',
        'voice.lists.changed',
        async (e) => {
          const list = e.payload.list === 'dno' ? 'dno' : 'blocklist';
          if (Array.isArray(e.payload.numbers)) index.applyList(list, numbers(e.payload.numbers), e.payload.listed === true);
          else await index.loadLists(source);
        },
        fanout,
      ),
      await bus.subscribe('voice-policies', 'voice.policies.changed', () => index.loadPolicies(source), fanout),
      await bus.subscribe('voice-trunks', 'voice.trunks.changed', () => index.loadTrunks(source), fanout),
      await bus.subscribe('voice-ownership', 'voice.ownership.changed', () => index.loadOwnership(source), fanout),
      await bus.subscribe('voice-stir-certificates', CERTIFICATES_CHANGED, () => stir.verifier.reload(), fanout),
    ];
  }

  const voice = {
    name: 'voice',
    routes: [
      screeningRoutes(screening),
      screeningPolicyRoutes(screening),
      referenceRoutes(reference, { roamingTtlSeconds: Math.round(roamingTtlMs / 1000) }),
      stirRoutes(stir),
    ],
    /** Call screening for switches on the SBI (HTTP/2): the screen and screen-batch routes. */
    sbiRoutes: [screeningRoutes(screening)],
    screening,
    reference,
    stir,
    index,
    /** Re-reads the index and the certificate store from the database. */
    reload,

    /** Follows changes, loads the index, and flushes counters and re-reads the index (repairing any missed event) periodically. */
    async start(): Promise<void> {
      subscriptions.push(...(await followChanges()), ...(await reference.followBlocklistEvents(bus)));
      await reload();
      const every = (ms: number, work: () => Promise<unknown>, what: string) => {
        const t = setInterval(() => void work().catch((err: unknown) => logger.warn({ err }, `voice: ${what} failed; will retry`)), ms);
        t.unref();
        timers.push(t);
      };
      every(FLUSH_EVERY_MS, () => screening.flush(), 'flushing counters');
      every(
        RELOAD_EVERY_MS,
        async () => {
          await reload();
          await source.pruneRoaming(clock());
        },
        'reloading indexes',
      );
    },

    async stop(): Promise<void> {
      for (const t of timers.splice(0)) clearInterval(t);
      for (const s of subscriptions.splice(0)) await s.close();
      await screening.flush().catch((err: unknown) => logger.warn({ err }, 'voice: final counter flush failed'));
    },

    /**
     * The SIP redirect server in front of call screening: the trunk a call arrives on (by source address) gives the
     * ingress and the receiving operator, whose policy decides.
     */
    sip(options: SipOptions): SipServer {
      return createSipServer({
        ...options,
        logger,
        trunkOf: (address) => index.trunkOf(address),
        trusted: addressMatcher(options.trusted),
        // The switch that asks belongs to the receiving operator: its trunk's operator, whose policy decides.
        screen: (call, from) => screening.screen(call, index.trunkOf(from.address)?.operatorId ?? null),
      });
    },
  };
  return voice;
}

export type VoiceModule = ReturnType<typeof createVoiceModule>;

// The devices module's front door: the IMEI registry (registry/), the equipment identity register (eir/) and what
// operators' networks report and what follows from it (network/). Nothing outside the module reaches past this file.
import { createChanges, tablesOf } from '../../core/changes.js';
import type { ModuleDeps, QalqanModule } from '../../core/module.js';
import { createEir } from './eir/eir.js';
import { eirRepository } from './eir/repository.js';
import { eirRoutes, imeiBatchRoutes } from './eir/routes.js';
import { createEirService } from './eir/service.js';
import { networkRoutes } from './network/routes.js';
import { createNetworkService } from './network/service.js';
import { registryRoutes } from './registry/routes.js';
import { createRegistryService } from './registry/service.js';
import type { DevicesTables } from './tables.js';

export interface DevicesOptions {
  /** How often the EIR rebuilds its in-memory index from the database (default 15 minutes; 0 = only on events). */
  eirReloadEveryMs?: number;
  /** A full classification this often (grace deadlines pass with time alone); 0 = none (the default: `qalqan serve` asks for hourly). */
  classifyEveryMs?: number;
  /** How often the instance looks for classifications owed by changes when no event woke it (default 5 s). */
  owedPollMs?: number;
  /** How long an event's wake-up waits so that the changes of the next moments are classified together (default 100 ms). */
  owedGatherMs?: number;
}

/** The devices module: its routes (main API and SBI), its services, and what a serving instance starts. */
export function createDevicesModule(deps: ModuleDeps & DevicesOptions) {
  const db = tablesOf<DevicesTables>(deps.db);
  const run = createChanges<DevicesTables>(deps);
  const index = createEir({ repo: () => eirRepository(db), bus: deps.bus, logger: deps.logger, reloadEveryMs: deps.eirReloadEveryMs ?? 15 * 60_000 });
  const registry = createRegistryService({ db, run, orgs: deps.orgs, eir: index, clock: deps.clock, ingest: deps.ingest });
  const network = createNetworkService({ db, run, orgs: deps.orgs, eir: index, clock: deps.clock, ids: deps.ids, logger: deps.logger, ingest: deps.ingest });
  const eir = createEirService({ db, eir: index });
  let stops: (() => Promise<void>)[] = [];

  const lifecycle = {
    name: 'devices',
    routes: [registryRoutes(registry), eirRoutes(eir), imeiBatchRoutes(eir), networkRoutes(network)],
    sbiRoutes: [eirRoutes(eir)],

    /**
     * Registrations, blocks, orders and pairings owe a classification, recorded with the change: settle what a crash
     * left now, then whenever such an event arrives (shared work: one instance handles each event, and the
     * classification lock lets one instance classify at a time) and every few seconds. Then the EIR's index loads
     * and follows the changes; with `classifyEveryMs`, full classifications run on schedule.
     */
    async start(): Promise<void> {
      const owed = network.startPendingClassification(deps.owedPollMs ?? 5_000, deps.owedGatherMs ?? 100);
      stops.push(owed.stop);
      // Not awaited: one settling serves every change owed until it starts, so the events need not wait for it in line.
      const subscription = await deps.bus.subscribe('devices-reclassify', 'devices.imei.>', async () => void owed.kick());
      stops.push(() => subscription.close());
      await index.start();
      stops.push(async () => index.stop());
      if (deps.classifyEveryMs) stops.push(network.startClassificationSchedule(deps.classifyEveryMs));
    },

    async stop(): Promise<void> {
      const started = stops.reverse();
      stops = [];
      for (const stop of started) await stop();
    },
  } satisfies QalqanModule;

  return {
    ...lifecycle,
    /** The TAC database, registrations, the citizens' check and statistics. */
    registry,
    /** Observations, classification, lists, trace alerts, pairings, networks, blocks and orders. */
    network,
    /** N5g-eir and the operators' batch check. */
    eir,
    /** The EIR's in-memory index on this instance (reload, check, statistics). */
    index,
  };
}

export type DevicesModule = ReturnType<typeof createDevicesModule>;

export { devicesCommands, type DevicesCommandServices, type WithDevicesServices } from './cli.js';
export { DEMO_BLACK_IMEI, DEMO_GREY_IMEI, DEMO_NETWORKS, DEMO_REGISTERED, DEMO_STOLEN_IMEI, loadDevicesDemo } from './demo.js';

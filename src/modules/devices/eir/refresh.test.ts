import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../../core/events/memory-bus.js';
import { createEir } from './eir.js';
import type { EirRepository } from './repository.js';

const logger = pino({ level: 'silent' });

/** A repository that counts the rebuilds that read it: one registered IMEI, one TAC. */
function countingRepo(): { repo: () => EirRepository; reads: () => number } {
  let reads = 0;
  const repo = {
    allTacs: async () => {
      reads++;
      return ['35332811'];
    },
    allPairings: async () => [],
    async *statusSources() {
      yield { table: 'registrations' as const, imei14: '35332811000001', status: null };
    },
  } as unknown as EirRepository;
  return { repo: () => repo, reads: () => reads };
}

describe("a writer's refresh of its EIR index", () => {
  it('is skipped by a process that never loaded the index (a CLI command answers no checks)', async () => {
    const { repo, reads } = countingRepo();
    const eir = createEir({ repo, bus: createMemoryBus(logger), logger });
    await eir.refresh();
    expect(reads()).toBe(0);
  });

  it('rebuilds a serving instance’s index', async () => {
    const { repo, reads } = countingRepo();
    const eir = createEir({ repo, bus: createMemoryBus(logger), logger });
    await eir.start();
    expect(reads()).toBe(1);
    await eir.refresh();
    expect(reads()).toBe(2);
    eir.stop();
  });
});

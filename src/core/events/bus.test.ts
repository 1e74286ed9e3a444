import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { topicMatches, type QalqanEvent } from './bus.js';
import { createMemoryBus } from './memory-bus.js';

const logger = pino({ level: 'silent' });

function event(n: number, topic: string): QalqanEvent {
  return { id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, topic, payload: { n }, occurredAt: new Date(0).toISOString(), seq: String(n) };
}

describe('topicMatches', () => {
  it.each([
    ['devices.imei.blocked', 'devices.imei.blocked', true],
    ['devices.imei.blocked', 'devices.imei.unblocked', false],
    ['devices.imei', 'devices.imei.blocked', false],
    ['devices.imei.blocked.extra', 'devices.imei.blocked', false],
    ['devices.*.blocked', 'devices.imei.blocked', true],
    ['devices.*.blocked', 'devices.imei.unblocked', false],
    ['*.imei.*', 'devices.imei.blocked', true],
    ['*', 'devices', true],
    ['*', 'devices.imei', false],
    ['devices.*', 'devices', false],
    ['devices.*', 'devices.imei.blocked', false],
    ['devices.>', 'devices.imei.blocked', true],
    ['devices.>', 'devices.imei', true],
    ['devices.>', 'devices', false],
    ['devices.>', 'voice.call.screened', false],
    ['>', 'devices', true],
    ['>', 'devices.imei.blocked', true],
    ['*.>', 'devices', false],
    ['*.>', 'devices.imei', true],
    ['devices.imei', 'devices.imeisv', false],
  ])('pattern %j vs topic %j → %s', (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });
});

describe('memory bus', () => {
  it('delivers each event to every matching subscription, in publish order, and to no other', async () => {
    const bus = createMemoryBus(logger, 1);
    const all: string[] = [];
    const imei: string[] = [];
    const voice: string[] = [];
    await bus.subscribe('all', '>', async (e) => {
      // A slow handler must not let a later event overtake an earlier one.
      await new Promise((r) => setTimeout(r, e.payload.n === 1 ? 20 : 0));
      all.push(e.id);
    });
    await bus.subscribe('imei', 'devices.imei.*', async (e) => {
      imei.push(e.id);
    });
    await bus.subscribe('voice', 'voice.>', async (e) => {
      voice.push(e.id);
    });

    const events = [
      event(1, 'devices.imei.blocked'),
      event(2, 'voice.call.screened'),
      event(3, 'devices.imei.unblocked'),
      event(4, 'intel.report.created'),
      event(5, 'devices.list.generated'),
    ];
    for (const e of events) await bus.publish(e);
    await bus.close();

    expect(all).toEqual(events.map((e) => e.id));
    expect(imei).toEqual([events[0]!.id, events[2]!.id]);
    expect(voice).toEqual([events[1]!.id]);
  });

  it('retries a failing handler until it succeeds, and keeps the order of later events', async () => {
    const bus = createMemoryBus(logger, 1);
    const attempts = new Map<string, number>();
    const handled: string[] = [];
    await bus.subscribe('flaky', 'devices.>', async (e) => {
      const n = (attempts.get(e.id) ?? 0) + 1;
      attempts.set(e.id, n);
      if (e.payload.n === 1 && n < 3) throw new Error('transient failure');
      handled.push(e.id);
    });

    const first = event(1, 'devices.imei.blocked');
    const second = event(2, 'devices.imei.blocked');
    await bus.publish(first);
    await bus.publish(second);
    await bus.close();

    expect(attempts.get(first.id)).toBe(3);
    expect(attempts.get(second.id)).toBe(1);
    expect(handled).toEqual([first.id, second.id]);
  });

  it('stops delivering to a closed subscription', async () => {
    const bus = createMemoryBus(logger, 1);
    const seen: string[] = [];
    const sub = await bus.subscribe('c', '>', async (e) => {
      seen.push(e.id);
    });
    await bus.publish(event(1, 'a.b'));
    await sub.close();
    await bus.publish(event(2, 'a.b'));
    await bus.close();
    expect(seen).toEqual([event(1, 'a.b').id]);
  });
});

// One instance of the eir-propagation benchmark in a worker thread of its own (PostgreSQL + NATS only): its own
// event loop, connection pool and NATS connection, as a separate process would have. Told of every acknowledged
// block, it asks its EIR every millisecond until it answers BLACKLISTED and reports when (epoch ms).
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { openDatabase } from '../src/core/db/database.js';
import { createNatsBus } from '../src/core/events/nats-bus.js';
import { createHttpServer, createServices } from '../src/server.js';
import { loopbackBase } from './harness.js';

interface Start {
  databaseUrl: string;
  natsUrl: string;
  stream: string;
  subjectPrefix: string;
  secret: string;
}

type Message = { watch: string; ackedAt: number } | { finish: number } | { close: true };

const epochMs = () => performance.timeOrigin + performance.now();
const start = workerData as Start;
const port = parentPort!;
const logger = pino({ level: 'silent' });
const database = await openDatabase({ kind: 'postgres', url: start.databaseUrl });
const bus = await createNatsBus({ url: start.natsUrl, logger, stream: start.stream, subjectPrefix: start.subjectPrefix });
const services = createServices({ database, bus, logger, secret: start.secret });
const { app } = await createHttpServer(services);
await app.listen({ host: '127.0.0.1', port: 0 });
services.relay.start();

const open = new Map<string, number>();
const seen: [string, number][] = [];
const isBlack = (imei: string) => {
  const answer = services.devices.eir.equipmentStatus(`imei-${imei}`, undefined);
  return !(answer instanceof Promise) && 'status' in answer && answer.status === 'BLACKLISTED';
};
const watcher = setInterval(() => {
  const now = epochMs();
  for (const [imei, ackedAt] of open) {
    if (!isBlack(imei)) continue;
    seen.push([imei, Math.max(0, now - ackedAt)]);
    open.delete(imei);
  }
}, 1);

port.on('message', (m: Message) => {
  if ('watch' in m) open.set(m.watch, m.ackedAt);
  else if ('finish' in m) {
    const until = epochMs() + m.finish;
    const wait = setInterval(() => {
      if (open.size && epochMs() < until) return;
      clearInterval(wait);
      port.postMessage({ seen, never: [...open.keys()] });
    }, 10);
  } else {
    clearInterval(watcher);
    void (async () => {
      await app.close();
      services.eir.stop();
      await services.voice.stop();
      await services.relay.stop();
      await bus.close();
      await database.close();
      port.postMessage({ closed: true });
    })();
  }
});
port.postMessage({ base: loopbackBase(app.server) });

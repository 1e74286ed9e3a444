/**
 * `npm run lint:openapi`: builds the app in this process on an empty in-memory database, writes its OpenAPI document
 * to a temporary file and lints it with Redocly's recommended rules. Exits with the linter's code (errors fail).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openDatabase } from '../core/db/database.js';
import { migrateToLatest } from '../core/db/migrate.js';
import { createMemoryBus } from '../core/events/memory-bus.js';
import { createHttpServer, createServices } from '../server.js';

async function openApiDocument(): Promise<unknown> {
  const logger = pino({ level: 'silent' });
  const database = await openDatabase({ kind: 'pglite' });
  const bus = createMemoryBus(logger);
  try {
    await migrateToLatest(database.db);
    const services = createServices({ database, bus, logger, secret: 'openapi-lint-secret-openapi-lint-secret' });
    const { app } = await createHttpServer(services);
    await app.ready();
    const document = app.swagger();
    services.eir.stop();
    await app.close();
    return document;
  } finally {
    await bus.close();
    await database.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'qalqan-openapi-'));
const file = join(dir, 'openapi.json');
writeFileSync(file, JSON.stringify(await openApiDocument(), null, 2));
const redocly = join(import.meta.dirname, '../../node_modules/.bin/redocly');
const lint = spawnSync(redocly, ['lint', file, '--extends', 'recommended', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
});
rmSync(dir, { recursive: true, force: true });
process.exit(lint.status ?? 1);

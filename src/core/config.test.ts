import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const dir = () => mkdtempSync(join(tmpdir(), 'qalqan-config-'));

describe('loadConfig', () => {
  it('has the documented defaults and generates a secret kept in the data dir', () => {
    const dataDir = dir();
    const config = loadConfig({ QALQAN_DATA_DIR: dataDir });
    expect(config).toMatchObject({ port: 8080, host: '0.0.0.0', dataDir, databaseUrl: null, natsUrl: null, logLevel: 'info', trustProxy: false });
    expect(config).toMatchObject({ sipPort: 5060, sipHost: '0.0.0.0', sipTrusted: ['127.0.0.1', '::1'], voiceDefaultIngress: 'international', roamingTtlHours: 24, publicBaseUrl: 'http://localhost:8080' });
    expect(config.httpLimits).toEqual({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, maxConnectionsPerAddress: 256 });
    expect(config.secret.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dataDir, 'secret.key'), 'utf8').trim()).toBe(config.secret);
    expect(statSync(join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(loadConfig({ QALQAN_DATA_DIR: dataDir }).secret).toBe(config.secret);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      QALQAN_DATA_DIR: dir(),
      DATABASE_URL: 'postgres://u@db:5432/qalqan',
      NATS_URL: 'nats://nats:4222',
      QALQAN_SECRET: 's'.repeat(40),
      LOG_LEVEL: 'debug',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
      SIP_PORT: '0',
      SIP_HOST: '10.1.1.1',
      SIP_TRUSTED: '10.0.0.0/8, ::1',
      VOICE_DEFAULT_INGRESS: 'domestic',
      VOICE_ROAMING_TTL_HOURS: '12',
      PUBLIC_BASE_URL: 'https://qalqan.example/',
      HTTP_REQUEST_TIMEOUT_MS: '60000',
      HTTP_HEADERS_TIMEOUT_MS: '5000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '75000',
      HTTP_MAX_CONNECTIONS_PER_IP: '0',
    });
    expect(config.httpLimits).toEqual({ requestTimeoutMs: 60_000, headersTimeoutMs: 5_000, keepAliveTimeoutMs: 75_000, maxConnectionsPerAddress: 0 });
    expect(config).toMatchObject({ sipPort: 0, sipHost: '10.1.1.1', sipTrusted: ['10.0.0.0/8', '::1'], voiceDefaultIngress: 'domestic', roamingTtlHours: 12, publicBaseUrl: 'https://qalqan.example' });
    expect(config).toMatchObject({ port: 9000, host: '127.0.0.1', databaseUrl: 'postgres://u@db:5432/qalqan', natsUrl: 'nats://nats:4222', secret: 's'.repeat(40), logLevel: 'debug', trustProxy: '10.0.0.0/8,127.0.0.1' });
  });

  it('QALQAN_DEMO: the first start on the embedded database loads the demo unless 0; with DATABASE_URL never', () => {
    expect(loadConfig({ QALQAN_DATA_DIR: dir() }).demoOnFirstStart).toBe(true);
    expect(loadConfig({ QALQAN_DATA_DIR: dir(), QALQAN_DEMO: '1' }).demoOnFirstStart).toBe(true);
    expect(loadConfig({ QALQAN_DATA_DIR: dir(), QALQAN_DEMO: '0' }).demoOnFirstStart).toBe(false);
    expect(loadConfig({ QALQAN_DATA_DIR: dir(), QALQAN_DEMO: 'false' }).demoOnFirstStart).toBe(false);
    const postgres = { QALQAN_DATA_DIR: dir(), DATABASE_URL: 'postgres://u@db:5432/qalqan', QALQAN_SECRET: 's'.repeat(40) };
    expect(loadConfig(postgres).demoOnFirstStart).toBe(false);
    expect(loadConfig({ ...postgres, QALQAN_DEMO: '0' }).demoOnFirstStart).toBe(false);
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT must be an integer/],
    [{ QALQAN_DEMO: 'yes' }, /^QALQAN_DEMO must be 0 or 1 \(got "yes"\)$/],
    [{ DATABASE_URL: 'postgres://x/y', QALQAN_SECRET: 's'.repeat(40), QALQAN_DEMO: '1' }, /^QALQAN_DEMO=1 applies to the embedded database only; with DATABASE_URL load the demo on purpose with `qalqan demo`$/],
    [{ PORT: '70000' }, /^PORT/],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL must start with postgres/],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL is not a valid URL/],
    [{ NATS_URL: 'http://x' }, /^NATS_URL/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    [{ TRUST_PROXY: 'everyone' }, /^TRUST_PROXY must be/],
    [{ TRUST_PROXY: '10.1.2' }, /^TRUST_PROXY must be/],
    [{ TRUST_PROXY: '10.0.0.0/40' }, /^TRUST_PROXY must be/],
    [{ QALQAN_SECRET: 'short' }, /^QALQAN_SECRET must be at least 32/],
    [{ SIP_PORT: '99999' }, /^SIP_PORT must be an integer/],
    [{ SIP_TRUSTED: '999.1.1.1' }, /^SIP_TRUSTED must be/],
    [{ SIP_TRUSTED: '10.0.0.0/40' }, /^SIP_TRUSTED must be/],
    [{ VOICE_DEFAULT_INGRESS: 'moon' }, /^VOICE_DEFAULT_INGRESS must be/],
    [{ VOICE_ROAMING_TTL_HOURS: '0' }, /^VOICE_ROAMING_TTL_HOURS must be/],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, /^PUBLIC_BASE_URL must start with/],
    [{ DATABASE_URL: 'postgres://x/y' }, /^QALQAN_SECRET is required when DATABASE_URL is set/],
    [{ HTTP_REQUEST_TIMEOUT_MS: '0' }, /^HTTP_REQUEST_TIMEOUT_MS must be an integer from 1000 to 3600000/],
    [{ HTTP_HEADERS_TIMEOUT_MS: '10s' }, /^HTTP_HEADERS_TIMEOUT_MS must be an integer/],
    [{ HTTP_KEEP_ALIVE_TIMEOUT_MS: '-1' }, /^HTTP_KEEP_ALIVE_TIMEOUT_MS must be an integer/],
    [{ HTTP_MAX_CONNECTIONS_PER_IP: 'many' }, /^HTTP_MAX_CONNECTIONS_PER_IP must be an integer from 0/],
  ])('refuses %o with a one-line message naming the variable', (env, message) => {
    const run = () => loadConfig({ QALQAN_DATA_DIR: dir(), ...env });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
  });
});

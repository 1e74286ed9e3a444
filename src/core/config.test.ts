import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestCertificates } from '../testing/certificates.js';
import { ConfigError, loadConfig } from './config.js';

const dir = () => mkdtempSync(join(tmpdir(), 'qalqan-config-'));

describe('loadConfig', () => {
  it('has the documented defaults and generates a secret kept in the data dir', () => {
    const dataDir = dir();
    const config = loadConfig({ QALQAN_DATA_DIR: dataDir });
    expect(config).toMatchObject({ port: 8080, host: '0.0.0.0', dataDir, databaseUrl: null, natsUrl: null, logLevel: 'info', trustProxy: false });
    expect(config).toMatchObject({
      sipPort: 5060,
      sipHost: '0.0.0.0',
      sipTrusted: ['127.0.0.1', '::1'],
      voiceDefaultIngress: 'international',
      roamingTtlHours: 24,
      publicBaseUrl: 'http://localhost:8080',
    });
    expect(config.httpLimits).toEqual({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, maxConnectionsPerAddress: 256 });
    expect(config).toMatchObject({ sbiPort: 8081, sbiHost: '0.0.0.0', sbiTls: null, http2Limits: { maxConcurrentStreams: 128 } });
    expect(config.housekeeping).toEqual({ retentionDays: 7, everyMinutes: 60 });
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
      SBI_PORT: '0',
      SBI_HOST: '10.2.2.2',
      SBI_MAX_CONCURRENT_STREAMS: '64',
      HOUSEKEEPING_RETENTION_DAYS: '30',
      HOUSEKEEPING_EVERY_MINUTES: '0',
    });
    expect(config.housekeeping).toEqual({ retentionDays: 30, everyMinutes: 0 });
    expect(config).toMatchObject({ sbiPort: 0, sbiHost: '10.2.2.2', http2Limits: { maxConcurrentStreams: 64 } });
    expect(config.httpLimits).toEqual({ requestTimeoutMs: 60_000, headersTimeoutMs: 5_000, keepAliveTimeoutMs: 75_000, maxConnectionsPerAddress: 0 });
    expect(config).toMatchObject({
      sipPort: 0,
      sipHost: '10.1.1.1',
      sipTrusted: ['10.0.0.0/8', '::1'],
      voiceDefaultIngress: 'domestic',
      roamingTtlHours: 12,
      publicBaseUrl: 'https://qalqan.example',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      databaseUrl: 'postgres://u@db:5432/qalqan',
      natsUrl: 'nats://nats:4222',
      secret: 's'.repeat(40),
      logLevel: 'debug',
      trustProxy: '10.0.0.0/8,127.0.0.1',
    });
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
    [
      { DATABASE_URL: 'postgres://x/y', QALQAN_SECRET: 's'.repeat(40), QALQAN_DEMO: '1' },
      /^QALQAN_DEMO=1 applies to the embedded database only; with DATABASE_URL load the demo on purpose with `qalqan demo`$/,
    ],
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
    [{ SBI_PORT: '-1' }, /^SBI_PORT must be an integer/],
    [{ SBI_MAX_CONCURRENT_STREAMS: '0' }, /^SBI_MAX_CONCURRENT_STREAMS must be an integer from 1/],
    [{ HOUSEKEEPING_RETENTION_DAYS: '0' }, /^HOUSEKEEPING_RETENTION_DAYS must be an integer from 1 to 3650 \(got "0"\)$/],
    [{ HOUSEKEEPING_RETENTION_DAYS: '7d' }, /^HOUSEKEEPING_RETENTION_DAYS must be an integer/],
    [{ HOUSEKEEPING_EVERY_MINUTES: '-5' }, /^HOUSEKEEPING_EVERY_MINUTES must be an integer from 0 to 10080/],
    [{ SBI_TLS_CERT: '/no/such/cert.pem', SBI_TLS_KEY: '/no/such/key.pem' }, /^SBI_TLS_CERT: cannot read \/no\/such\/cert\.pem \(ENOENT\)/],
  ])('refuses %o with a one-line message naming the variable', (env, message) => {
    const run = () => loadConfig({ QALQAN_DATA_DIR: dir(), ...env });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
  });

  describe('SBI TLS', () => {
    const certs = makeTestCertificates();
    afterAll(() => certs.remove());
    const load = (env: Record<string, string>) => () => loadConfig({ QALQAN_DATA_DIR: dir(), ...env });

    it('reads the certificate, the key and the CA at start', () => {
      const config = load({ SBI_TLS_CERT: certs.server.certPath, SBI_TLS_KEY: certs.server.keyPath, SBI_TLS_CA: certs.caPath })();
      expect(config.sbiTls).toEqual({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca });
      expect(load({ SBI_TLS_CERT: certs.server.certPath, SBI_TLS_KEY: certs.server.keyPath })().sbiTls?.ca).toBeNull();
    });

    it.each([
      [{ SBI_TLS_CERT: 'server' }, /^SBI_TLS_CERT and SBI_TLS_KEY go together/],
      [{ SBI_TLS_KEY: 'server-key' }, /^SBI_TLS_CERT and SBI_TLS_KEY go together/],
      [{ SBI_TLS_CA: 'ca' }, /^SBI_TLS_CA needs SBI_TLS_CERT and SBI_TLS_KEY/],
      [{ SBI_TLS_CERT: 'server-key', SBI_TLS_KEY: 'server-key' }, /^SBI_TLS_CERT: .* is not a PEM certificate/],
      [{ SBI_TLS_CERT: 'server', SBI_TLS_KEY: 'server' }, /^SBI_TLS_KEY: .* is not an unencrypted PEM private key/],
      [{ SBI_TLS_CERT: 'server', SBI_TLS_KEY: 'client-key' }, /^SBI_TLS_KEY: .* is not the key of the certificate/],
      [{ SBI_TLS_CERT: 'server', SBI_TLS_KEY: 'server-key', SBI_TLS_CA: 'server-key' }, /^SBI_TLS_CA: .* is not a PEM CA certificate/],
    ])('refuses %o, naming the variable', (files, message) => {
      const path: Record<string, string> = {
        server: certs.server.certPath,
        'server-key': certs.server.keyPath,
        'client-key': certs.client.keyPath,
        ca: certs.caPath,
      };
      const env = Object.fromEntries(Object.entries(files).map(([name, file]) => [name, path[file]!]));
      expect(load(env)).toThrow(ConfigError);
      expect(load(env)).toThrow(message);
    });
  });
});

import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SbiTls } from './http/http2-server.js';
import { DEFAULT_HTTP2_LIMITS, type Http2Limits, type HttpLimits } from './http/limits.js';
import { isAddressOrCidr } from './net.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  /** QALQAN_DEMO: `serve` loads the demo on the embedded database's first start (never with DATABASE_URL). */
  demoOnFirstStart: boolean;
  natsUrl: string | null;
  secret: string;
  logLevel: LogLevel;
  /** Fastify's trustProxy: false, true, or comma-separated addresses/CIDRs of the load balancers. */
  trustProxy: boolean | string;
  /** SIP redirect server port, UDP and TCP (0 = no SIP server). */
  sipPort: number;
  sipHost: string;
  /** Addresses/CIDRs allowed to set the ingress with X-Qalqan-Ingress. */
  sipTrusted: string[];
  /** Ingress of a call from a source that matches no trunk. */
  voiceDefaultIngress: 'international' | 'domestic';
  /** How long a roaming report holds unless refreshed. */
  roamingTtlHours: number;
  /** The address others reach this API at: STIR/SHAKEN certificate URLs (x5u) are built on it. */
  publicBaseUrl: string;
  /** Timeouts and the per-address connection cap of the HTTP listener. */
  httpLimits: HttpLimits;
  /** SBI listener port: HTTP/2 for core networks and switches (0 = no SBI listener). */
  sbiPort: number;
  sbiHost: string;
  /** SBI_TLS_CERT and SBI_TLS_KEY (and SBI_TLS_CA for mutual TLS), read at start; null: h2c. */
  sbiTls: SbiTls | null;
  /** The SBI's HTTP/2 limits (SBI_MAX_CONCURRENT_STREAMS). */
  http2Limits: Http2Limits;
  /** HOUSEKEEPING_*: how long published events and handled-event records are kept, how often pruning runs (0 = never). */
  housekeeping: { retentionDays: number; everyMinutes: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MIN_SECRET_LENGTH = 32;

type Env = Record<string, string | undefined>;

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === '' ? undefined : v;
}

function parsePort(env: Env, name = 'PORT', fallback = 8080): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new ConfigError(`${name} must be an integer from 0 to 65535 (got "${raw}")`);
  return n;
}

function parseAddressList(env: Env, name: string, fallback: string[]): string[] {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const list = raw
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (list.length && list.every(isAddressOrCidr)) return list;
  throw new ConfigError(`${name} must be a comma-separated list of IP addresses or CIDRs (got "${raw}")`);
}

function parseIngress(env: Env): 'international' | 'domestic' {
  const raw = value(env, 'VOICE_DEFAULT_INGRESS') ?? 'international';
  if (raw !== 'international' && raw !== 'domestic') throw new ConfigError(`VOICE_DEFAULT_INGRESS must be international or domestic (got "${raw}")`);
  return raw;
}

function parseHours(env: Env, name: string, fallback: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 24 * 365) throw new ConfigError(`${name} must be a number of hours above 0 (got "${raw}")`);
  return n;
}

function parseInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  return n;
}

function parseHttpLimits(env: Env): HttpLimits {
  const hour = 3_600_000;
  return {
    requestTimeoutMs: parseInteger(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 1000, hour),
    headersTimeoutMs: parseInteger(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 1000, hour),
    keepAliveTimeoutMs: parseInteger(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 1000, hour),
    maxConnectionsPerAddress: parseInteger(env, 'HTTP_MAX_CONNECTIONS_PER_IP', 256, 0, 1_000_000),
  };
}

function parseHttp2Limits(env: Env): Http2Limits {
  return {
    ...DEFAULT_HTTP2_LIMITS,
    maxConcurrentStreams: parseInteger(env, 'SBI_MAX_CONCURRENT_STREAMS', DEFAULT_HTTP2_LIMITS.maxConcurrentStreams, 1, 10_000),
  };
}

/** A file a variable names, read now: one that cannot be read stops the start, naming the variable and the file. */
function readNamedFile(env: Env, name: string): { path: string; data: Buffer } | null {
  const path = value(env, name);
  if (path === undefined) return null;
  try {
    return { path, data: readFileSync(resolve(path)) };
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function parsePem<T>(name: string, file: { path: string; data: Buffer }, what: string, parse: (data: Buffer) => T): T {
  try {
    return parse(file.data);
  } catch {
    throw new ConfigError(`${name}: ${file.path} is not ${what}`);
  }
}

/** TLS of the SBI listener: a certificate and its key, both or neither; a CA bundle (mutual TLS) only with them. */
function parseSbiTls(env: Env): SbiTls | null {
  const cert = readNamedFile(env, 'SBI_TLS_CERT');
  const key = readNamedFile(env, 'SBI_TLS_KEY');
  const ca = readNamedFile(env, 'SBI_TLS_CA');
  if (!cert && !key) {
    if (ca) throw new ConfigError('SBI_TLS_CA needs SBI_TLS_CERT and SBI_TLS_KEY (mutual TLS is TLS that also asks for client certificates)');
    return null;
  }
  if (!cert || !key) throw new ConfigError('SBI_TLS_CERT and SBI_TLS_KEY go together: set both for TLS, or neither for h2c');
  const x509 = parsePem('SBI_TLS_CERT', cert, 'a PEM certificate', (data) => new X509Certificate(data));
  const privateKey: KeyObject = parsePem('SBI_TLS_KEY', key, 'an unencrypted PEM private key', (data) => createPrivateKey(data));
  if (!x509.checkPrivateKey(privateKey)) throw new ConfigError(`SBI_TLS_KEY: ${key.path} is not the key of the certificate in ${cert.path}`);
  if (ca) parsePem('SBI_TLS_CA', ca, 'a PEM CA certificate (bundle)', (data) => new X509Certificate(data));
  return { cert: cert.data, key: key.data, ca: ca?.data ?? null };
}

function parseUrl(env: Env, name: string, protocols: string[]): string | null {
  const raw = value(env, name);
  if (raw === undefined) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => p + '//').join(' or ')} (got "${url.protocol}//")`);
  }
  return raw;
}

function parseLogLevel(env: Env): LogLevel {
  const raw = value(env, 'LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(raw as LogLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${raw}")`);
  return raw as LogLevel;
}

/** The embedded default keeps a generated secret in the data dir; PostgreSQL deployments must supply one. */
function resolveSecret(env: Env, dataDir: string, databaseUrl: string | null): string {
  const raw = value(env, 'QALQAN_SECRET');
  if (raw !== undefined) {
    if (raw.length < MIN_SECRET_LENGTH) throw new ConfigError(`QALQAN_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
    return raw;
  }
  if (databaseUrl !== null) throw new ConfigError('QALQAN_SECRET is required when DATABASE_URL is set (at least 32 characters)');
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

/** On by default on the embedded database, off with 0; with DATABASE_URL only `qalqan demo` loads the demo. */
function parseDemo(env: Env, databaseUrl: string | null): boolean {
  const raw = value(env, 'QALQAN_DEMO');
  if (raw === undefined) return databaseUrl === null;
  if (raw === '0' || raw === 'false') return false;
  if (raw !== '1' && raw !== 'true') throw new ConfigError(`QALQAN_DEMO must be 0 or 1 (got "${raw}")`);
  if (databaseUrl !== null)
    throw new ConfigError('QALQAN_DEMO=1 applies to the embedded database only; with DATABASE_URL load the demo on purpose with `qalqan demo`');
  return true;
}

function parseTrustProxy(env: Env): boolean | string {
  const raw = value(env, 'TRUST_PROXY');
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  const list = raw.split(',').map((a) => a.trim());
  if (list.every(isAddressOrCidr)) return list.join(',');
  throw new ConfigError(`TRUST_PROXY must be true, false, or a comma-separated list of addresses/CIDRs (got "${raw}")`);
}

/** Reads and validates the environment. The only place in Qalqan that reads process.env. */
export function loadConfig(env: Env = process.env): Config {
  const dataDir = resolve(value(env, 'QALQAN_DATA_DIR') ?? './data');
  const databaseUrl = parseUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const port = parsePort(env);
  const host = value(env, 'HOST') ?? '0.0.0.0';
  return {
    port,
    host,
    dataDir,
    databaseUrl,
    natsUrl: parseUrl(env, 'NATS_URL', ['nats:', 'tls:']),
    secret: resolveSecret(env, dataDir, databaseUrl),
    demoOnFirstStart: parseDemo(env, databaseUrl),
    logLevel: parseLogLevel(env),
    trustProxy: parseTrustProxy(env),
    sipPort: parsePort(env, 'SIP_PORT', 5060),
    sipHost: value(env, 'SIP_HOST') ?? host,
    sipTrusted: parseAddressList(env, 'SIP_TRUSTED', ['127.0.0.1', '::1']),
    voiceDefaultIngress: parseIngress(env),
    roamingTtlHours: parseHours(env, 'VOICE_ROAMING_TTL_HOURS', 24),
    publicBaseUrl: (parseUrl(env, 'PUBLIC_BASE_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    httpLimits: parseHttpLimits(env),
    sbiPort: parsePort(env, 'SBI_PORT', 8081),
    sbiHost: value(env, 'SBI_HOST') ?? host,
    sbiTls: parseSbiTls(env),
    http2Limits: parseHttp2Limits(env),
    housekeeping: {
      retentionDays: parseInteger(env, 'HOUSEKEEPING_RETENTION_DAYS', 7, 1, 3650),
      everyMinutes: parseInteger(env, 'HOUSEKEEPING_EVERY_MINUTES', 60, 0, 7 * 24 * 60),
    },
  };
}

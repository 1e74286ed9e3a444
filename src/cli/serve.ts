import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { adminSocketPath, openRuntime } from '../core/runtime.js';
import { DEMO_ADMIN_EMAIL, loadDemo } from '../demo.js';
import { createHttpServer, createSbiServer } from '../server.js';
import { startAdminChannel } from './admin-channel.js';
import type { CliIO } from './io.js';

/** A listener that cannot bind says which setting chose its address or port. */
function bindError(err: unknown, names: { port: string; host: string }, port: number, host: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new Error(`port ${port} is already in use (set ${names.port} to another)`);
  if (code === 'EACCES') return new Error(`port ${port} needs privileges this user lacks (set ${names.port} to another)`);
  if (code === 'EADDRNOTAVAIL') return new Error(`address ${host} is not on this machine (set ${names.host} to another)`);
  return err;
}

/**
 * `qalqan serve`: migrate, load demo data on the embedded database's first start (unless QALQAN_DEMO=0), listen, and
 * on SIGTERM/SIGINT drain: stop accepting, finish in-flight requests, flush the outbox, close the database and release
 * the data dir.
 */
export async function serve(config: Config, logger: Logger, io: CliIO): Promise<void> {
  // Grace periods end with time alone: re-classify every hour (one instance at a time).
  const runtime = await openRuntime(config, logger, { server: true, devices: { classifyEveryMs: 60 * 60_000 } });
  const { services } = runtime;
  if (runtime.applied.length) logger.info({ migrations: runtime.applied }, 'migrations applied');
  // Not ready (/readyz 503) until the first lines below are printed: whoever waits for readiness sees them first.
  const { app, setDraining, setStarted } = await createHttpServer(services, { trustProxy: config.trustProxy, limits: config.httpLimits, starting: true });
  services.relay.start();
  // Prunes published events, handled-event records and expired sessions once a period, across instances.
  if (config.housekeeping.everyMinutes > 0) services.housekeeping.start(config.housekeeping.everyMinutes * 60_000);
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close();
    await runtime.close();
    throw bindError(err, { port: 'PORT', host: 'HOST' }, config.port, config.host);
  }
  // The SBI (HTTP/2, for core networks and switches) after the main API, like the SIP server.
  const sbi = config.sbiPort > 0 ? await createSbiServer(services, { tls: config.sbiTls, limits: config.httpLimits, http2Limits: config.http2Limits }) : null;
  try {
    await sbi?.listen({ port: config.sbiPort, host: config.sbiHost });
  } catch (err) {
    await sbi?.close();
    await app.close();
    await runtime.close();
    throw bindError(err, { port: 'SBI_PORT', host: 'SBI_HOST' }, config.sbiPort, config.sbiHost);
  }
  if (sbi) {
    const mode = !config.sbiTls ? 'h2c, prior knowledge' : config.sbiTls.ca ? 'mutual TLS, ALPN h2 and http/1.1' : 'TLS, ALPN h2 and http/1.1';
    io.out(`SBI (HTTP/2 ${mode}) on ${config.sbiHost}:${(sbi.server.address() as AddressInfo).port}`);
  }
  const sip =
    config.sipPort > 0
      ? services.voice.sip({ host: config.sipHost, port: config.sipPort, trusted: config.sipTrusted, defaultIngress: config.voiceDefaultIngress })
      : null;
  try {
    const ports = await sip?.start();
    if (ports) io.out(`SIP redirect server on ${config.sipHost} UDP ${ports.udpPort} and TCP ${ports.tcpPort}`);
  } catch (err) {
    await sbi?.close();
    await app.close();
    await runtime.close();
    throw bindError(err, { port: 'SIP_PORT', host: 'SIP_HOST' }, config.sipPort, config.sipHost);
  }
  let admin: Server | null = null;
  if (!config.databaseUrl) {
    const socketPath = adminSocketPath(config);
    admin = await startAdminChannel(socketPath, services, logger);
    runtime.announceAdmin(socketPath);
  }
  // Only once the server is reachable, so the one-time password is never printed for a start that then fails.
  if ((await services.auth.countUsers()) === 0) {
    if (config.demoOnFirstStart) {
      const password = await loadDemo(services, io);
      if (password) {
        io.out(`Demo data loaded. Console admin: ${DEMO_ADMIN_EMAIL}`);
        io.out(`One-time password (shown once, change it at first sign-in): ${password}`);
      }
    } else {
      io.out(
        'No console users yet: create the first admin with `qalqan user create --email <address> --role admin`, or load the demo data on purpose with `qalqan demo`',
      );
    }
  }
  // Before the listening line: whoever sees it and sends SIGTERM at once gets a drain, not the default kill.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    setDraining();
    try {
      if (admin) await new Promise((resolve) => admin!.close(resolve));
      await sip?.stop();
      await Promise.all([sbi?.close(), app.close()]);
      await runtime.close();
      logger.info('shutdown complete');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  const { port } = app.server.address() as AddressInfo;
  io.out(`Qalqan listening on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port} (API docs at /docs)`);
  setStarted();
}

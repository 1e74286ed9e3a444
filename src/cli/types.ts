import type { Services } from '../server.js';

/**
 * Runs a command's work with the services: opened locally (with the migrations that opening applied), or the running
 * server's own (which applied its migrations when it started).
 */
export type WithServices = <T>(fn: (services: Services, migrationsApplied?: string[]) => Promise<T>) => Promise<T>;

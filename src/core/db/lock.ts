import { closeSync, openSync, readFileSync, rmSync, writeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface LockInfo {
  pid: number;
  adminSocket: string | null;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(`data dir ${dataDir} is in use by another Qalqan process (pid ${holder.pid})`);
  }
}

const lockFile = (dataDir: string) => join(dataDir, 'qalqan.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Who holds the embedded database, or null when nobody alive does. */
export function readLock(dataDir: string): LockInfo | null {
  let info: LockInfo;
  try {
    info = JSON.parse(readFileSync(lockFile(dataDir), 'utf8')) as LockInfo;
  } catch {
    return null;
  }
  return alive(info.pid) && info.pid !== process.pid ? info : null;
}

/**
 * The embedded database admits one process. Takes the data dir's lock file (a stale one left by a dead process is
 * replaced) or throws DataDirLockedError naming the holder.
 */
export function acquireLock(dataDir: string, adminSocket: string | null): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = lockFile(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, adminSocket } satisfies LockInfo));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(dataDir);
      if (holder) throw new DataDirLockedError(dataDir, holder);
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take the lock on ${dataDir}`);
}

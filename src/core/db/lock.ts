import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
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

/** The data dir holds password and key hashes: only its owner may read it. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

export interface HeldLock {
  /** Records where the holder's admin channel listens, once it does. */
  announce(adminSocket: string): void;
  release(): void;
}

/**
 * The embedded database admits one process. Takes the data dir's lock file or throws DataDirLockedError naming
 * the holder. A lock left by a dead process is moved aside with an atomic rename, so of two processes that find
 * the same stale lock, only one takes over.
 */
export function acquireLock(dataDir: string): HeldLock {
  ensurePrivateDir(dataDir);
  const file = lockFile(dataDir);
  const write = (info: LockInfo, flag: string) => {
    if (flag === 'w') return writeFileSync(file, JSON.stringify(info), { mode: 0o600 });
    const fd = openSync(file, flag, 0o600);
    writeSync(fd, JSON.stringify(info));
    closeSync(fd);
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      write({ pid: process.pid, adminSocket: null }, 'wx');
      return { announce: (adminSocket) => write({ pid: process.pid, adminSocket }, 'w'), release: () => rmSync(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(dataDir);
      if (holder) throw new DataDirLockedError(dataDir, holder);
      try {
        renameSync(file, `${file}.stale-${process.pid}`);
        rmSync(`${file}.stale-${process.pid}`, { force: true });
      } catch (renameErr) {
        if ((renameErr as NodeJS.ErrnoException).code !== 'ENOENT') throw renameErr;
      }
    }
  }
  throw new Error(`could not take the lock on ${dataDir}`);
}

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirLockedError, acquireLock, readLock } from './lock.js';

const dir = () => mkdtempSync(join(tmpdir(), 'qalqan-lock-'));

describe('data dir lock', () => {
  it('admits one holder and names it to the next', () => {
    const dataDir = dir();
    writeFileSync(join(dataDir, 'qalqan.lock'), JSON.stringify({ pid: process.ppid, adminSocket: '/x.sock' }));
    expect(() => acquireLock(dataDir, null)).toThrow(DataDirLockedError);
    expect(readLock(dataDir)).toEqual({ pid: process.ppid, adminSocket: '/x.sock' });
  });

  it('replaces a stale lock left by a dead process, and releases', () => {
    const dataDir = dir();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dataDir, 'qalqan.lock'), JSON.stringify({ pid: dead, adminSocket: null }));
    expect(readLock(dataDir)).toBeNull();
    const release = acquireLock(dataDir, '/admin.sock');
    release();
    const again = acquireLock(dataDir, null);
    again();
  });
});

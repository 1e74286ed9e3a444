import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirLockedError, acquireLock, readLock } from './lock.js';

const dir = () => join(mkdtempSync(join(tmpdir(), 'qalqan-lock-')), 'data');

describe('data dir lock', () => {
  it('admits one holder and names it to the next', () => {
    const dataDir = dir();
    const held = acquireLock(dataDir);
    writeFileSync(join(dataDir, 'qalqan.lock'), JSON.stringify({ pid: process.ppid, adminSocket: '/x.sock' }));
    expect(() => acquireLock(dataDir)).toThrow(DataDirLockedError);
    expect(readLock(dataDir)).toEqual({ pid: process.ppid, adminSocket: '/x.sock' });
    held.release();
  });

  it('creates the data dir readable by its owner only', () => {
    const dataDir = dir();
    acquireLock(dataDir).release();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it('announces the admin socket only when asked, and releases', () => {
    const dataDir = dir();
    const held = acquireLock(dataDir);
    expect(JSON.parse(readFileSync(join(dataDir, 'qalqan.lock'), 'utf8'))).toEqual({ pid: process.pid, adminSocket: null });
    held.announce('/run/a.sock');
    expect(JSON.parse(readFileSync(join(dataDir, 'qalqan.lock'), 'utf8'))).toEqual({ pid: process.pid, adminSocket: '/run/a.sock' });
    held.release();
    expect(existsSync(join(dataDir, 'qalqan.lock'))).toBe(false);
  });

  it('takes over a stale lock left by a dead process', () => {
    const dataDir = dir();
    acquireLock(dataDir).release();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dataDir, 'qalqan.lock'), JSON.stringify({ pid: dead, adminSocket: null }));
    expect(readLock(dataDir)).toBeNull();
    const held = acquireLock(dataDir);
    expect(JSON.parse(readFileSync(join(dataDir, 'qalqan.lock'), 'utf8')).pid).toBe(process.pid);
    held.release();
  });
});

import { chmodSync, chownSync, mkdirSync, mkdtempSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Config } from './config.js';
import { privateDir } from './private-dir.js';
import { adminSocketPath } from './runtime.js';

const uid = process.getuid!();
const scratch = () => mkdtempSync(join(tmpdir(), 'qalqan-private-'));
const longDataDir = (parent: string) => join(parent, 'd'.repeat(120));

describe('the admin socket path', () => {
  it('is in the data dir when that path is short enough', () => {
    const dataDir = scratch();
    expect(adminSocketPath({ dataDir } as Config)).toBe(join(dataDir, 'admin.sock'));
  });

  it('for a long data dir, is in a directory of our own (mode 0700) in the temp dir', () => {
    const tmp = scratch();
    const path = adminSocketPath({ dataDir: longDataDir(tmp) } as Config, tmp);
    expect(dirname(path)).toBe(join(tmp, `qalqan-${uid}`));
    expect(Buffer.byteLength(path)).toBeLessThanOrEqual(100);
    const stat = statSync(dirname(path));
    expect(stat.mode & 0o777).toBe(0o700);
    expect(stat.uid).toBe(uid);
    expect(adminSocketPath({ dataDir: longDataDir(tmp) } as Config, tmp)).toBe(path);
  });

  it.skipIf(uid !== 0)('refuses a directory another user made first', () => {
    const tmp = scratch();
    mkdirSync(join(tmp, `qalqan-${uid}`), { mode: 0o700 });
    chownSync(join(tmp, `qalqan-${uid}`), 4242, 4242);
    expect(() => adminSocketPath({ dataDir: longDataDir(tmp) } as Config, tmp)).toThrow(/owned by uid 4242, not by this user/);
  });

  it('refuses a directory others can write', () => {
    const dir = join(scratch(), 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(() => privateDir(dir)).toThrow(/writable by others \(mode 777\)/);
    chmodSync(dir, 0o770);
    expect(() => privateDir(dir)).toThrow(/writable by others/);
  });

  it('refuses a symbolic link, even to a directory of ours', () => {
    const tmp = scratch();
    mkdirSync(join(tmp, 'real'), { mode: 0o700 });
    symlinkSync(join(tmp, 'real'), join(tmp, 'link'));
    expect(() => privateDir(join(tmp, 'link'))).toThrow(/not a directory/);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileWithProgress } from './file-input.js';
import { lineIO, type CliIO } from './io.js';

const dir = mkdtempSync(join(tmpdir(), 'qalqan-file-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recordingIO() {
  const updates: { done: number; detail?: string }[] = [];
  let total = -1;
  let stopped = false;
  const io: CliIO = {
    out: () => undefined,
    err: () => undefined,
    progress(_label, t) {
      total = t;
      return { update: (done, detail) => void updates.push({ done, detail }), stop: () => void (stopped = true) };
    },
  };
  return { io, updates, total: () => total, stopped: () => stopped };
}

describe('an imported file’s progress', () => {
  it('shows bytes read of the file, the rows the import read and their rate', async () => {
    const file = join(dir, 'rows.csv');
    const content = 'n\n' + '1\n'.repeat(300_000);
    writeFileSync(file, content);
    const rec = recordingIO();
    let now = 0;
    const progress = fileWithProgress(rec.io, 'rows', file, () => now);
    let read = 0;
    for await (const chunk of progress.input) read += (chunk as Buffer).length;
    now = 2_000;
    progress.onProgress({ rows: 300_000, bytes: read });
    progress.done();
    expect(read).toBe(content.length);
    expect(rec.total()).toBe(content.length);
    expect(rec.updates.at(-1)).toEqual({ done: content.length, detail: '0.6 of 0.6 MiB, 300,000 rows, 150,000 rows/s' });
    expect(rec.updates.map((u) => u.done)).toEqual([...rec.updates.map((u) => u.done)].sort((a, b) => a - b));
    expect(rec.stopped()).toBe(true);
  });

  it('over the admin channel, becomes a line at each tenth with the same detail, and one for the end', () => {
    const lines: string[] = [];
    const bar = lineIO((_kind, line) => lines.push(line)).progress('observations', 100);
    bar.update(5, '5 rows');
    bar.update(10, '10 rows');
    bar.update(12, '12 rows');
    bar.update(100, '100 rows');
    bar.update(100, '120 rows');
    bar.stop();
    expect(lines).toEqual(['observations: 5 rows', 'observations: 10 rows', 'observations: 100 rows', 'observations: 120 rows']);
    const quiet: string[] = [];
    const whole = lineIO((_kind, line) => quiet.push(line)).progress('tac', 10);
    whole.update(10, 'all');
    whole.stop();
    expect(quiet).toEqual(['tac: all']);
  });
});

import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  /** `detail`: what else to show beside the share done (e.g. rows and rows/s). */
  update(done: number, detail?: string): void;
  stop(): void;
}

/** Where a command writes: the terminal, or the admin channel back to a CLI process. */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  progress(label: string, total: number): Progress;
}

export const terminalIO: CliIO = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  progress(label, total) {
    const bar = new SingleBar(
      { format: `${label} [{bar}] {percentage}% | {detail} | ETA {eta_formatted}`, stream: process.stderr, etaBuffer: 50 },
      Presets.shades_classic,
    );
    bar.start(total, 0, { detail: `0/${total}` });
    return { update: (done, detail) => bar.update(done, { detail: detail ?? `${done}/${total}` }), stop: () => bar.stop() };
  },
};

/** For the admin channel: progress becomes a line at each tenth of the work, and one for the end. */
export function lineIO(write: (kind: 'out' | 'err', line: string) => void): CliIO {
  return {
    out: (line) => write('out', line),
    err: (line) => write('err', line),
    progress(label, total) {
      let reported = -1;
      let last: string | null = null;
      let written: string | null = null;
      const say = (text: string) => write('err', `${label}: ${(written = text)}`);
      return {
        update(done, detail) {
          last = detail ?? `${done}/${total}`;
          const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
          if (tenth > reported) {
            reported = tenth;
            say(last);
          }
        },
        // The last state, when the tenths left it unsaid (rows read after the last byte, for instance).
        stop: () => {
          if (last !== null && last !== written) say(last);
        },
      };
    },
  };
}

import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  update(done: number): void;
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
    const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {percentage}% | ETA {eta}s`, stream: process.stderr }, Presets.shades_classic);
    bar.start(total, 0);
    return { update: (done) => bar.update(done), stop: () => bar.stop() };
  },
};

/** For the admin channel: progress becomes a line at each tenth of the work. */
export function lineIO(write: (kind: 'out' | 'err', line: string) => void): CliIO {
  return {
    out: (line) => write('out', line),
    err: (line) => write('err', line),
    progress(label, total) {
      let reported = -1;
      return {
        update(done) {
          const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
          if (tenth > reported) {
            reported = tenth;
            write('err', `${label}: ${done}/${total}`);
          }
        },
        stop: () => undefined,
      };
    },
  };
}

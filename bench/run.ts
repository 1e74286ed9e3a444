/**
 * `npm run bench -- <name>`: runs one benchmark from the registry below. Each is a module `bench/<name>.ts`
 * exporting `run()`; modules are imported only when chosen, so listing them starts nothing.
 */

interface Benchmark {
  description: string;
  load: () => Promise<{ run: () => Promise<unknown> }>;
}

const benchmarks: Record<string, Benchmark> = {
  'http-auth': {
    description: 'authenticated GET /api/v1/auth/me through the full stack vs an empty Fastify route',
    load: () => import('./http-auth.js'),
  },
  eir: {
    description: 'N5g-eir equipment-status over 1 M registered IMEIs (mixed white/grey/black/unknown) vs an empty route; memory per IMEI',
    load: () => import('./eir.js'),
  },
  'eir-propagation': {
    description:
      'stolen-phone blocks at 500/s (BENCH_BLOCK_RATE, BENCH_BLOCK_SECONDS) on two instances: ms from the 201 until each instance answers BLACKLISTED (p50, p99, max, share within 1 s)',
    load: () => import('./eir-propagation.js'),
  },
  'eir-during-import': {
    description:
      'EIR and /healthz latency (p50, p99, max) on the embedded database while 500 k observation rows (BENCH_OBSERVATIONS) are imported and classified, against idle',
    load: () => import('./eir-during-import.js'),
  },
  'eir-index': {
    description: 'the packed EIR index alone: build time, bytes per IMEI at 1 M and 10 M, lookups/s',
    load: () => import('./eir-index.js'),
  },
  'sbi-eir': {
    description:
      "the SBI's equipment-status over HTTP/2 (h2c) with 1 M IMEIs under h2load vs an empty Fastify HTTP/2 route (BENCH_H2_CONNECTIONS, BENCH_H2_STREAMS); req/s ratio, p99 of each, CPU per request",
    load: () => import('./sbi-eir.js'),
  },
  'voice-http': {
    description: 'POST /api/v1/voice/screen (mixed calls over 100 k roaming subscribers, DNO, blocklist) vs an empty route',
    load: () => import('./voice-http.js'),
  },
  ingest: {
    description:
      'observation rows (BENCH_INGEST_ROWS, default 1 M) and registrations (BENCH_INGEST_REGISTRATIONS, default 1 M) through `qalqan import` in a child process vs a raw COPY of each file into an unindexed table, same database and run; rows/s, ratio, phases, peak RSS growth, WAL',
    load: () => import('./ingest.js'),
  },
  'voice-sip': {
    description:
      "the SIP redirect server under sipp at rising call rates (BENCH_SIP_RATES, BENCH_SIP_SECONDS) vs sipp's own UAS; cps with 0 failed calls and 0 retransmissions",
    load: () => import('./voice-sip.js'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(benchmarks).map((n) => n.length));
  const lines = Object.entries(benchmarks).map(([name, b]) => `  ${name.padEnd(width)}  ${b.description}`);
  return [
    'usage: npm run bench -- <name>',
    '',
    'benchmarks:',
    ...lines,
    '',
    'environment: BENCH_SECONDS (measured seconds per side, default 30), BENCH_WARMUP_SECONDS (default 2),',
    '             BENCH_CONNECTIONS (default 50), BENCH_WORKERS (autocannon threads, default 1; 0 = main thread),',
    '             BENCH_ROUNDS (alternating baseline/target rounds, default 10),',
    '             DATABASE_URL (PostgreSQL instead of in-memory PGlite, where a benchmark uses a database)',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  if (name === undefined || name === '') {
    console.error(`no benchmark name given\n\n${usage()}`);
    return 1;
  }
  if (name === '--help' || name === '-h' || name === 'list') {
    console.log(usage());
    return 0;
  }
  const benchmark = Object.hasOwn(benchmarks, name) ? benchmarks[name] : undefined;
  if (!benchmark) {
    console.error(`unknown benchmark "${name}"\n\n${usage()}`);
    return 1;
  }
  const module = await benchmark.load();
  await module.run();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('benchmark failed:', err);
    process.exitCode = 1;
  },
);

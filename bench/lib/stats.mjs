// Small helpers shared by the bench scripts: flag parsing, latency summaries, parsing of the Java tools' output.

/** Parses `--name value` pairs; unknown names are an error (typos must not silently fall back to defaults). */
export function parseFlags(argv, defaults) {
  const flags = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw usageError(`unexpected argument '${arg}'`, defaults);
    const name = arg.slice(2);
    if (!(name in defaults)) throw usageError(`unknown flag --${name}`, defaults);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw usageError(`--${name} needs a value`, defaults);
    flags[name] = value;
    i++;
  }
  return flags;
}

function usageError(message, defaults) {
  const known = Object.entries(defaults)
    .map(([k, v]) => `--${k} ${v === '' ? '<value>' : v}`)
    .join(' ');
  const err = new Error(`${message}\nflags (defaults): ${known}`);
  err.exitCode = 2;
  return err;
}

/** avg/p50/p99/max of latencies in milliseconds (nearest-rank percentiles), rounded to 0.01 ms. */
export function summarizeLatencies(latenciesMs) {
  if (latenciesMs.length === 0) return { avg: null, p50: null, p99: null, max: null, samples: 0 };
  const sorted = Float64Array.from(latenciesMs).sort();
  const rank = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const sum = sorted.reduce((a, b) => a + b, 0);
  const r = (x) => Math.round(x * 100) / 100;
  return { avg: r(sum / sorted.length), p50: r(rank(50)), p99: r(rank(99)), max: r(sorted[sorted.length - 1]), samples: sorted.length };
}

/**
 * Parses the final summary line of org.apache.kafka.tools.ProducerPerformance:
 * "500000 records sent, 20706.1 records/sec (20.22 MB/sec), 1306.57 ms avg latency, 2072.00 ms max latency,
 *  1359 ms 50th, 1842 ms 95th, 1997 ms 99th, 2066 ms 99.9th."
 */
export function parseProducerPerformance(stdout) {
  const re =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/;
  const m = re.exec(stdout);
  if (!m) return null;
  return {
    records: Number(m[1]),
    recordsPerSec: Math.round(Number(m[2])),
    mbPerSec: Number(m[3]),
    latencyMs: { avg: Number(m[4]), p50: Number(m[6]), p95: Number(m[7]), p99: Number(m[8]), p999: Number(m[9]), max: Number(m[5]) },
  };
}

/**
 * Parses org.apache.kafka.tools.ConsumerPerformance output (a CSV header line then one data line):
 * start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
 * MB/s and records/s reported are the fetch.* figures (time after the consumer-group join), the join time separately.
 */
export function parseConsumerPerformance(stdout) {
  const lines = stdout.split('\n').map((l) => l.trim());
  const headerIndex = lines.findIndex((l) => l.startsWith('start.time'));
  if (headerIndex < 0 || headerIndex + 1 >= lines.length) return null;
  const header = lines[headerIndex].split(',').map((s) => s.trim());
  // The dates contain no commas, so a plain split is safe.
  const values = lines[headerIndex + 1].split(',').map((s) => s.trim());
  if (values.length !== header.length) return null;
  const row = Object.fromEntries(header.map((h, i) => [h, values[i]]));
  const num = (k) => Number(row[k]);
  return {
    records: num('data.consumed.in.nMsg'),
    mb: Number(num('data.consumed.in.MB').toFixed(2)),
    mbPerSec: Number(num('fetch.MB.sec').toFixed(2)),
    recordsPerSec: Math.round(num('fetch.nMsg.sec')),
    mbPerSecIncludingJoin: Number(num('MB.sec').toFixed(2)),
    joinMs: num('rebalance.time.ms'),
    fetchMs: num('fetch.time.ms'),
  };
}

/** parseFlags for a command-line entry point: prints the usage error and exits with code 2. */
export function parseFlagsOrExit(argv, defaults, program) {
  try {
    return parseFlags(argv, defaults);
  } catch (err) {
    console.error(`${program}: ${err.message}`);
    process.exit(err.exitCode ?? 2);
  }
}

/** The value of a positive-integer flag, or null when `text` is not one (e.g. '0', '-3', '1.5', '12k'). */
export function parsePositiveInt(text) {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** parsePositiveInt of `flags[name]` for a command-line entry point: prints the usage error and exits with code 2. */
export function positiveIntFlagOrExit(flags, name, program) {
  const n = parsePositiveInt(flags[name]);
  if (n === null) {
    console.error(`${program}: --${name} must be a positive integer, got '${flags[name]}'`);
    process.exit(2);
  }
  return n;
}

/**
 * Median of the successful ProducerPerformance runs (`{ recordsPerSec, mbPerSec, latencyMs: { p50, p99 } }`, runs with
 * `error` skipped), metric by metric (the mean of the middle two for an even count); null when none succeeded.
 */
export function medianOfProducerRuns(runs) {
  const ok = runs.filter((r) => !r.error);
  if (ok.length === 0) return null;
  const med = (f) => {
    const v = ok.map(f).sort((a, b) => a - b);
    const mid = Math.floor(v.length / 2);
    return v.length % 2 === 1 ? v[mid] : Number(((v[mid - 1] + v[mid]) / 2).toFixed(2));
  };
  return { mbPerSec: med((r) => r.mbPerSec), recordsPerSec: med((r) => r.recordsPerSec), p50: med((r) => r.latencyMs.p50), p99: med((r) => r.latencyMs.p99), runs: ok.length };
}

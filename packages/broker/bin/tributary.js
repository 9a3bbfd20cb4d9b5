#!/usr/bin/env node
// Thin launcher so the bin link exists before the first build; the CLI lives in dist/.
//
// libuv's thread pool (4 threads by default) runs every file read, fsync and zlib job. A snapshot's uploads (segment
// reads, gzip, checkpoint fsyncs) would otherwise queue the Raft WAL's group commit behind them and show up as produce
// latency (p99 226-976 ms with the snapshot loop on vs 78-235 ms off at 4 threads; 89-214 vs 78-183 ms at 16: see
// docs/BENCHMARKS.md). It must be set before the pool is first used; an explicit setting wins.
process.env.UV_THREADPOOL_SIZE ??= '16';
await import('../dist/src/cli.js');

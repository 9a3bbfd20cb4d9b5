#!/usr/bin/env node
// Simulator CLI:  --seed N [--quiet] (replay one seed, printing its trace) | --seeds COUNT [--from N] [--broken]
import { runSimulation } from './simulator.js';

function parse(argv: string[]): { seed?: number; seeds?: number; from: number; broken: boolean; traceOn: boolean } {
  const out = { from: 1, broken: false, traceOn: true } as { seed?: number; seeds?: number; from: number; broken: boolean; traceOn: boolean };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--seed') out.seed = num();
    else if (a === '--seeds') out.seeds = num();
    else if (a === '--from') out.from = num();
    else if (a === '--broken') out.broken = true;
    else if (a === '--trace') out.traceOn = true;
    else if (a === '--quiet') out.traceOn = false;
    else throw new Error(`unknown argument ${a}; usage: sim --seed N [--quiet] [--broken] | --seeds COUNT [--from N] [--broken]`);
  }
  return out;
}

function main(): number {
  let args;
  try { args = parse(process.argv.slice(2)); } catch (err) { console.error((err as Error).message); return 2; }
  if (args.seed !== undefined) {
    const r = runSimulation({ seed: args.seed, broken: args.broken, trace: args.traceOn ? (l) => console.log(l) : undefined });
    console.log(`seed ${r.seed}: cluster ${r.clusterSize}, faults ${r.faults}, committed ${r.committed}, simulated ${r.simulatedMs} ms, violations ${r.violations.length}`);
    for (const v of r.violations) console.log(`  VIOLATION ${v}`);
    return r.violations.length === 0 ? 0 : 1;
  }
  const count = args.seeds ?? 100;
  const started = Date.now();
  let faults = 0;
  let violations = 0;
  let firstFailing: number | null = null;
  let run = 0;
  for (let s = args.from; s < args.from + count; s++) {
    const r = runSimulation({ seed: s, broken: args.broken });
    run++;
    faults += r.faults;
    if (r.violations.length > 0) {
      violations += r.violations.length;
      firstFailing = s;
      console.log(`FAIL seed ${s}: ${r.violations[0]}`);
      console.log(`replay: npm run sim -w @tributary/raft -- --seed ${s}${args.broken ? ' --broken' : ''}`);
      break;
    }
  }
  console.log(`seeds run ${run}, faults injected ${faults}, violations ${violations}${firstFailing === null ? '' : `, failing seed ${firstFailing}`}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return violations === 0 ? 0 : 1;
}

process.exitCode = main();

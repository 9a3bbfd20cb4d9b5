// Runs every test/scenarios/*.txt file. REWRITE=1 regenerates the expected output (then review the diff!).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { InteractionEnv, parseScenario } from './support/interaction-env.js';

// compiled to dist/test/: the .txt files stay in the source tree
const dir = fileURLToPath(new URL('../../test/scenarios/', import.meta.url));

for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
  test(`scenario ${file}`, () => {
    const text = readFileSync(join(dir, file), 'utf8');
    const env = new InteractionEnv();
    const rewritten: string[] = [];
    const comments = text.split('\n');
    let lastLine = 0;
    for (const c of parseScenario(text)) {
      // keep comments that precede the command when rewriting
      for (let k = lastLine; k < c.line - 1; k++) if (comments[k]!.startsWith('#')) rewritten.push(comments[k]!);
      lastLine = c.line + 1 + c.expected.length;
      const actual = env.run(c.cmd, c.args);
      rewritten.push([c.cmd, ...c.args].join(' '), '----', ...(actual.length ? actual : ['ok']), '');
      if (process.env.REWRITE !== '1') assert.deepEqual(actual.length ? actual : ['ok'], c.expected, `${file}:${c.line} ${c.cmd} ${c.args.join(' ')}`);
    }
    if (process.env.REWRITE === '1') writeFileSync(join(dir, file), rewritten.join('\n'));
  });
}

// Extra Java programs of the cluster suites (e2e/clients/java/<Name>.java), compiled on first use (and after an edit)
// into the same classes dir as E2eClient, so javaCommand() runs them.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { clientsDir, javaClassesDir, javaLibDir } from './paths.mjs';
import { requireJavaLib } from './java.mjs';
import { runOk } from './proc.mjs';

export async function ensureJavaProgram(name) {
  requireJavaLib();
  const source = join(clientsDir, 'java', `${name}.java`);
  const classFile = join(javaClassesDir, `${name}.class`);
  if (existsSync(classFile) && statSync(classFile).mtimeMs >= statSync(source).mtimeMs) return;
  mkdirSync(javaClassesDir, { recursive: true });
  await runOk('javac', ['-nowarn', '-d', javaClassesDir, '-cp', `${javaLibDir}/*`, source], {}, 120_000);
}

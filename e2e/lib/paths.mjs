// Where things are: the repository root, the install caches under .cache/, and the client programs.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const cacheDir = join(repoRoot, '.cache');
export const javaLibDir = join(cacheDir, 'java/lib');
export const javaClassesDir = join(cacheDir, 'e2e-java/classes');
export const goBinary = join(cacheDir, 'go/bin/franz-e2e');
export const clientsDir = join(repoRoot, 'e2e/clients');
/** Debian's Python: the one that sees python3-confluent-kafka and python3-kafka (a pyenv python3 on PATH does not). */
export const systemPython = process.env.TRIBUTARY_E2E_PYTHON ?? '/usr/bin/python3';

// The Java client program: compiled on first use (javac against .cache/java/lib) into .cache/e2e-java/classes.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, clientsDir, javaClassesDir, javaLibDir } from './paths.mjs';
import { runOk } from './proc.mjs';

const SOURCE = join(clientsDir, 'java', 'E2eClient.java');
const log4jConfig = join(cacheDir, 'java', 'log4j2.properties');

export function requireJavaLib() {
  if (!existsSync(javaLibDir) || !readdirSync(javaLibDir).some((f) => f.startsWith('kafka-clients-')))
    throw new Error(`Kafka Java jars missing in ${javaLibDir}: run bash scripts/install/java.sh`);
}

export async function ensureJavaClient() {
  requireJavaLib();
  const classFile = join(javaClassesDir, 'E2eClient.class');
  if (existsSync(classFile) && statSync(classFile).mtimeMs >= statSync(SOURCE).mtimeMs) return;
  mkdirSync(javaClassesDir, { recursive: true });
  await runOk('javac', ['-nowarn', '-d', javaClassesDir, '-cp', `${javaLibDir}/*`, SOURCE], {}, 120_000);
}

/** [command, args] for `java` with the Kafka jars (and our classes) on the classpath and quiet logging. */
export function javaCommand(mainClass, args, { heap = '256m' } = {}) {
  const jvm = [`-Xmx${heap}`, '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto'];
  if (existsSync(log4jConfig)) jvm.push(`-Dlog4j2.configurationFile=${log4jConfig}`);
  return ['java', [...jvm, '-cp', `${javaClassesDir}:${javaLibDir}/*`, mainClass, ...args], {}];
}

export function javaClient(mode, opts) {
  return javaCommand('E2eClient', [mode, ...Object.entries(opts).flatMap(([k, v]) => [`--${k}`, String(v)])]);
}

// The Java programs of the e2e suites (e2e/clients/java/<Name>.java: the E2eClient and the cluster suites' extra
// programs): compiled on first use and after an edit (javac against .cache/java/lib) into .cache/e2e-java/classes.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, clientsDir, javaClassesDir, javaLibDir } from './paths.mjs';
import { runOk } from './proc.mjs';

const javaSourceDir = join(clientsDir, 'java');
/** Sources the programs share (javac compiles them from -sourcepath); an edit to one recompiles every program. */
const SHARED_SOURCES = ['RecordLines.java'];
const log4jConfig = join(cacheDir, 'java', 'log4j2.properties');

export function requireJavaLib() {
  if (!existsSync(javaLibDir) || !readdirSync(javaLibDir).some((f) => f.startsWith('kafka-clients-')))
    throw new Error(`Kafka Java jars missing in ${javaLibDir}: run bash scripts/install/java.sh`);
}

// One javac at a time in this process: two at once would both write the shared classes.
let compiling = Promise.resolve();

/** Compiles e2e/clients/java/<name>.java (with the shared sources) unless its class is newer than all of them. */
export function ensureJavaProgram(name) {
  const compile = compiling.then(() => compileIfStale(name));
  compiling = compile.catch(() => {});
  return compile;
}

export const ensureJavaClient = () => ensureJavaProgram('E2eClient');

async function compileIfStale(name) {
  requireJavaLib();
  const sources = [`${name}.java`, ...SHARED_SOURCES].map((file) => join(javaSourceDir, file));
  const classFile = join(javaClassesDir, `${name}.class`);
  if (existsSync(classFile) && sources.every((source) => statSync(classFile).mtimeMs >= statSync(source).mtimeMs)) return;
  mkdirSync(javaClassesDir, { recursive: true });
  await runOk('javac', ['-nowarn', '-d', javaClassesDir, '-cp', `${javaLibDir}/*`, '-sourcepath', javaSourceDir, sources[0]], {}, 120_000);
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

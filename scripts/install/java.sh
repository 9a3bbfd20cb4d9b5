#!/usr/bin/env bash
# Resolves the Apache Kafka Java jars from Maven Central into .cache/java/lib:
#   kafka-clients, kafka-tools (ProducerPerformance, ConsumerPerformance, VerifiableProducer, ClientCompatibilityTest, ...),
#   kafka_2.13 (the KRaft broker used by scripts/apache-kafka.mjs) and a log4j2 slf4j binding,
# plus .cache/java/log4j2.properties (quiet: WARN on stderr) for tools and client programs.
# Use:  java -Dlog4j2.configurationFile=.cache/java/log4j2.properties -cp '.cache/java/lib/*' org.apache.kafka.tools.ProducerPerformance ...
# The version lives in bench/java/pom.xml. Idempotent: does nothing when the jars for that pom are already in place.
# Needs java (17+: Kafka 4.x brokers require it) and mvn on PATH; the Maven repository is .cache/m2 (never ~/.m2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pom="$root/bench/java/pom.xml"
cache="$root/.cache/java"
lib="$cache/lib"
stamp="$lib/.resolved-from"

for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || { echo "java.sh: '$tool' not found on PATH (install a JDK 17+ and Maven, e.g. apt-get install openjdk-17-jdk-headless maven)" >&2; exit 1; }
done
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')"
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
  echo "java.sh: Java 17+ required for the Kafka 4.x broker, found '${java_major:-unknown}'" >&2
  exit 1
fi

want="$(sha256sum "$pom" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && ls "$lib"/kafka-clients-*.jar "$lib"/kafka-tools-*.jar "$lib"/kafka_2.13-*.jar >/dev/null 2>&1; then
  cp "$root/bench/java/log4j2.properties" "$cache/log4j2.properties"
  echo "java.sh: already resolved ($(ls "$lib"/*.jar | wc -l) jars in .cache/java/lib, $(basename "$(ls "$lib"/kafka_2.13-*.jar)"))"
  exit 0
fi

echo "java.sh: resolving Kafka jars from Maven Central (bench/java/pom.xml) into .cache/java/lib"
# Resolve into a fresh directory and swap it in at the end, so suites using the old jars meanwhile keep working.
staging="$cache/lib.staging"
rm -rf "$staging"
mkdir -p "$staging"
# (the sed drops the bare ANSI reset codes Debian's mvn prints even in quiet batch mode; pipefail keeps mvn's status)
mvn -B -q -Dstyle.color=never -f "$pom" -Dmaven.repo.local="$root/.cache/m2" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
cp "$root/bench/java/log4j2.properties" "$cache/log4j2.properties"

# Fail loudly if a required jar is missing (e.g. a renamed artifact).
for jar in kafka-clients kafka-tools kafka_2.13 log4j-slf4j-impl; do
  ls "$staging/$jar"-*.jar >/dev/null 2>&1 || { echo "java.sh: $jar jar missing after resolution" >&2; exit 1; }
done
echo "$want" >"$staging/.resolved-from"
rm -rf "$lib"
mv "$staging" "$lib"
echo "java.sh: done: $(ls "$lib"/*.jar | wc -l) jars, $(basename "$(ls "$lib"/kafka_2.13-*.jar)")"

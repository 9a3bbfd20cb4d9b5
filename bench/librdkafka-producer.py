#!/usr/bin/python3
"""librdkafka producer benchmark (confluent-kafka-python, Debian's python3-confluent-kafka).

Produces `--records` values of `--record-size` bytes as fast as librdkafka accepts them, with librdkafka's own
batching (defaults: linger.ms=5, batch.size=1000000), and measures each record's latency from produce() to its
delivery report. Prints one JSON line like bench/kafkajs-producer.mjs:
  {"client":"librdkafka","records":N,"bytes":B,"elapsedMs":T,"recordsPerSec":..,"mbPerSec":..,"latencyMs":{...}}

  /usr/bin/python3 bench/librdkafka-producer.py --bootstrap 127.0.0.1:9092 --topic t [--records 200000]
      [--record-size 1024] [--acks 1|all|0] [--timeout-s 240]
"""
import argparse
import json
import os
import sys
import time

from confluent_kafka import KafkaException, Producer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", default="bench-librdkafka")
    parser.add_argument("--records", type=int, default=200000)
    parser.add_argument("--record-size", type=int, default=1024)
    parser.add_argument("--acks", default="1", choices=["0", "1", "-1", "all"])
    parser.add_argument("--timeout-s", type=float, default=240.0)
    args = parser.parse_args()
    if args.records <= 0 or args.record_size <= 0:
        parser.error("--records and --record-size must be positive")

    errors = []
    latencies_ms = []

    def on_delivery(err, msg, sent_ns):
        if err is not None:
            errors.append(str(err))
        else:
            latencies_ms.append((time.monotonic_ns() - sent_ns) / 1e6)

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": args.acks,
        "enable.idempotence": False,
        "client.id": "tributary-bench-librdkafka",
    })
    value = os.urandom(args.record_size)
    # Warm-up: metadata and connection before the clock starts.
    producer.produce(args.topic, value)
    if producer.flush(30) != 0:
        print("librdkafka-producer: warm-up record not delivered within 30 s", file=sys.stderr)
        return 1

    deadline = time.monotonic() + args.timeout_s
    started = time.monotonic_ns()
    for _ in range(args.records):
        sent_ns = time.monotonic_ns()
        while True:
            try:
                producer.produce(args.topic, value, on_delivery=lambda err, msg, t=sent_ns: on_delivery(err, msg, t))
                break
            except BufferError:
                producer.poll(0.01)  # local queue full: let deliveries drain
                if time.monotonic() > deadline:
                    print("librdkafka-producer: timed out", file=sys.stderr)
                    return 1
        producer.poll(0)
    remaining = producer.flush(max(1.0, deadline - time.monotonic()))
    elapsed_ms = (time.monotonic_ns() - started) / 1e6
    if remaining != 0 or errors:
        print(f"librdkafka-producer: {remaining} undelivered, {len(errors)} errors: {errors[:3]}", file=sys.stderr)
        return 1

    latencies_ms.sort()
    n = len(latencies_ms)

    def rank(p):
        return round(latencies_ms[min(n - 1, max(0, -(-p * n // 100) - 1))], 2)

    total_bytes = args.records * args.record_size
    print(json.dumps({
        "client": "librdkafka",
        "version": __import__("confluent_kafka").libversion()[0],
        "topic": args.topic,
        "acks": args.acks,
        "records": args.records,
        "recordSize": args.record_size,
        "bytes": total_bytes,
        "elapsedMs": round(elapsed_ms),
        "recordsPerSec": round(args.records / elapsed_ms * 1000),
        "mbPerSec": round(total_bytes / (1024 * 1024) / (elapsed_ms / 1000), 2),
        "latencyMs": {
            "avg": round(sum(latencies_ms) / n, 2),
            "p50": rank(50),
            "p99": rank(99),
            "max": round(latencies_ms[-1], 2),
            "samples": n,
        },
    }))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KafkaException as exc:
        print(f"librdkafka-producer: {exc}", file=sys.stderr)
        sys.exit(1)

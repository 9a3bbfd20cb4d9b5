#!/usr/bin/python3
"""kafka-python client for the e2e suites.

  produce        --records F --acks-out F [--acks all|1] [--partitions N]
  consume-assign --partitions N --expect N --out F     (assign() + seek_to_beginning, no group)
"""
import argparse
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from e2e_io import LineFile, event, read_records, row


def produce(args):
    records = read_records(args.records)
    producer = KafkaProducer(
        bootstrap_servers=[args.bootstrap],
        acks=args.acks if args.acks == 'all' else int(args.acks),
        linger_ms=5,
        retries=5,
        max_in_flight_requests_per_connection=1,
        request_timeout_ms=30000,
    )
    acks = LineFile(args.acks_out)
    state = {'ok': 0, 'failed': 0}

    def ok(index):
        def cb(md):
            state['ok'] += 1
            acks.write('%d\t%d\t%d\n' % (index, md.partition, md.offset))
        return cb

    def failed(index):
        def cb(exc):
            state['failed'] += 1
            acks.write('%d\tERR\t%s\n' % (index, repr(exc).replace('\t', ' ').replace('\n', ' ')))
        return cb

    started = time.time()
    for i, (key, value, headers) in enumerate(records):
        fut = producer.send(args.topic, value=value, key=key, headers=[(n, v) for n, v in headers], partition=i % args.partitions)
        fut.add_callback(ok(i))
        fut.add_errback(failed(i))
    producer.flush(timeout=120)
    producer.close()
    acks.close()
    event('produced', ok=state['ok'], failed=state['failed'], seconds=round(time.time() - started, 2))
    return 0 if state['ok'] == len(records) else 1


def consume_assign(args):
    consumer = KafkaConsumer(bootstrap_servers=[args.bootstrap], group_id=None, enable_auto_commit=False, auto_offset_reset='earliest')
    partitions = [TopicPartition(args.topic, p) for p in range(args.partitions)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    out = LineFile(args.out)
    count = 0
    deadline = time.time() + args.timeout_s
    while count < args.expect and time.time() < deadline:
        batches = consumer.poll(timeout_ms=500, max_records=2000)
        for tp in sorted(batches, key=lambda t: t.partition):
            for m in batches[tp]:
                out.write(row(m.partition, m.offset, m.key, m.value, m.headers))
                count += 1
    consumer.close()
    out.close()
    event('consumed', count=count)
    return 0 if count >= args.expect else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['produce', 'consume-assign'])
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--records')
    ap.add_argument('--acks-out')
    ap.add_argument('--acks', default='all')
    ap.add_argument('--partitions', type=int, default=1)
    ap.add_argument('--expect', type=int, default=0)
    ap.add_argument('--out')
    ap.add_argument('--timeout-s', type=float, default=60)
    args = ap.parse_args()
    return {'produce': produce, 'consume-assign': consume_assign}[args.mode](args)


if __name__ == '__main__':
    sys.exit(main())

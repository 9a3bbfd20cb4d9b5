#!/usr/bin/python3
"""confluent-kafka (librdkafka) client for the e2e suites.

  produce        --records F --acks-out F [--acks all|1] [--idempotent] [--partitions N] [--rate N]
  consume-assign --partitions N --expect N --out F            (assign() from the beginning, no group)
  consume-group  --group G --out F --stop-file F [--assignor cooperative-sticky]
                 (subscribe; commit after processing; prints EVENT lines with the current assignment)
"""
import argparse
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, OFFSET_BEGINNING, Producer, TopicPartition

from e2e_io import LineFile, event, read_records, row


def produce(args):
    records = read_records(args.records)
    conf = {
        'bootstrap.servers': args.bootstrap,
        'broker.address.family': 'v4',
        'acks': args.acks,
        'enable.idempotence': args.idempotent,
        'linger.ms': 5,
        'message.timeout.ms': args.message_timeout_ms,
        'retry.backoff.ms': 100,
        'reconnect.backoff.max.ms': 500,
    }
    if not args.idempotent:
        conf['max.in.flight.requests.per.connection'] = 1  # keep produce order without idempotence
    producer = Producer(conf)
    acks = LineFile(args.acks_out)
    state = {'ok': 0, 'failed': 0}

    def on_delivery(index):
        def cb(err, msg):
            if err is not None:
                state['failed'] += 1
                acks.write('%d\tERR\t%s\n' % (index, str(err).replace('\t', ' ').replace('\n', ' ')))
            else:
                state['ok'] += 1
                acks.write('%d\t%d\t%d\n' % (index, msg.partition(), msg.offset()))
        return cb

    started = time.time()
    for i, (key, value, headers) in enumerate(records):
        if args.rate > 0:
            ahead = i / args.rate - (time.time() - started)
            if ahead > 0:
                producer.poll(ahead)
        while True:
            try:
                producer.produce(args.topic, value=value, key=key, headers=headers or None,
                                 partition=i % args.partitions, on_delivery=on_delivery(i))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(args.message_timeout_ms / 1000 + 30)
    acks.close()
    event('produced', ok=state['ok'], failed=state['failed'], undelivered=remaining, seconds=round(time.time() - started, 2))
    return 0 if remaining == 0 else 1


def consume_assign(args):
    consumer = Consumer({
        'bootstrap.servers': args.bootstrap,
        'broker.address.family': 'v4',
        'group.id': 'e2e-assign-unused',  # required by the client; assign() never joins it
        'enable.auto.commit': False,
        'enable.partition.eof': False,
    })
    consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)])
    out = LineFile(args.out)
    count = 0
    deadline = time.time() + args.timeout_s
    while count < args.expect and time.time() < deadline:
        for msg in consumer.consume(num_messages=1000, timeout=0.5):
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise SystemExit('consume error: %s' % msg.error())
            out.write(row(msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers()))
            count += 1
    consumer.close()
    out.close()
    event('consumed', count=count)
    return 0 if count >= args.expect else 1


def consume_group(args):
    out = LineFile(args.out)
    assignment = set()

    def report():
        event('assignment', partitions=sorted(assignment))

    def on_assign(consumer, partitions):
        assignment.update(tp.partition for tp in partitions)
        report()

    def on_revoke(consumer, partitions):
        assignment.difference_update(tp.partition for tp in partitions)
        report()

    def on_lost(consumer, partitions):
        assignment.difference_update(tp.partition for tp in partitions)
        event('lost', partitions=sorted(tp.partition for tp in partitions))
        report()

    consumer = Consumer({
        'bootstrap.servers': args.bootstrap,
        'broker.address.family': 'v4',
        'group.id': args.group,
        'client.id': args.member,
        'partition.assignment.strategy': args.assignor,
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
        'session.timeout.ms': args.session_timeout_ms,
        'heartbeat.interval.ms': 1000,
    })
    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    count = 0
    while not os.path.exists(args.stop_file):
        msgs = consumer.consume(num_messages=500, timeout=0.3)
        processed = False
        for msg in msgs:
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise SystemExit('consume error: %s' % msg.error())
            out.write(row(msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers()))
            count += 1
            processed = True
        if processed:
            consumer.commit(asynchronous=False)  # commit after processing: a successor resumes after these
            event('progress', count=count)
    consumer.close()  # leaves the group
    out.close()
    event('closed', count=count)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['produce', 'consume-assign', 'consume-group'])
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--records')
    ap.add_argument('--acks-out')
    ap.add_argument('--acks', default='all')
    ap.add_argument('--idempotent', action='store_true')
    ap.add_argument('--partitions', type=int, default=1)
    ap.add_argument('--rate', type=float, default=0, help='records per second (0: as fast as possible)')
    ap.add_argument('--message-timeout-ms', type=int, default=60000)
    ap.add_argument('--expect', type=int, default=0)
    ap.add_argument('--out')
    ap.add_argument('--timeout-s', type=float, default=60)
    ap.add_argument('--group')
    ap.add_argument('--member', default='e2e-member')
    ap.add_argument('--stop-file')
    ap.add_argument('--assignor', default='cooperative-sticky')
    ap.add_argument('--session-timeout-ms', type=int, default=10000)
    args = ap.parse_args()
    return {'produce': produce, 'consume-assign': consume_assign, 'consume-group': consume_group}[args.mode](args)


if __name__ == '__main__':
    sys.exit(main())

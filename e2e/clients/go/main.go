// franz-go client for the e2e suites. File formats: e2e/lib/records.mjs.
//
//	franz-e2e produce        -bootstrap B -topic T -records F -acks-out F [-partitions N] [-acks all|1]
//	franz-e2e consume-assign -bootstrap B -topic T -partitions N -expect N -out F [-timeout 60s]
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type rec struct {
	key, value []byte
	headers    []kgo.RecordHeader
}

func unhex(s string) ([]byte, error) {
	if s == "-" {
		return nil, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

func hexOf(b []byte) string {
	if b == nil {
		return "-"
	}
	return hex.EncodeToString(b)
}

func readRecords(path string) ([]rec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []rec
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			return nil, fmt.Errorf("bad record line %q", line)
		}
		var r rec
		if r.key, err = unhex(fields[0]); err != nil {
			return nil, err
		}
		if r.value, err = unhex(fields[1]); err != nil {
			return nil, err
		}
		if fields[2] != "" {
			for _, pair := range strings.Split(fields[2], ",") {
				kv := strings.SplitN(pair, ":", 2)
				name, err := unhex(kv[0])
				if err != nil {
					return nil, err
				}
				value, err := unhex(kv[1])
				if err != nil {
					return nil, err
				}
				r.headers = append(r.headers, kgo.RecordHeader{Key: string(name), Value: value})
			}
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func row(r *kgo.Record) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d\t%d\t%s\t%s\t", r.Partition, r.Offset, hexOf(r.Key), hexOf(r.Value))
	for i, h := range r.Headers {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(hexOf([]byte(h.Key)))
		sb.WriteByte(':')
		sb.WriteString(hexOf(h.Value))
	}
	sb.WriteByte('\n')
	return sb.String()
}

func produce(bootstrap, topic, recordsPath, acksPath string, partitions int, acks string) error {
	records, err := readRecords(recordsPath)
	if err != nil {
		return err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(bootstrap),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5 * time.Millisecond),
	}
	if acks == "1" {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	} else {
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks())) // idempotent by default
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	f, err := os.Create(acksPath)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	var mu sync.Mutex
	var ok, failed int
	var wg sync.WaitGroup
	for i := range records {
		r := &kgo.Record{Key: records[i].key, Value: records[i].value, Headers: records[i].headers, Partition: int32(i % partitions)}
		index := i
		wg.Add(1)
		cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				fmt.Fprintf(w, "%d\tERR\t%s\n", index, strings.ReplaceAll(err.Error(), "\t", " "))
				return
			}
			ok++
			fmt.Fprintf(w, "%d\t%d\t%d\n", index, r.Partition, r.Offset)
		})
	}
	wg.Wait()
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("EVENT {\"kind\":\"produced\",\"ok\":%d,\"failed\":%d}\n", ok, failed)
	if failed > 0 {
		return fmt.Errorf("%d records failed", failed)
	}
	return nil
}

func consumeAssign(bootstrap, topic, outPath string, partitions int, expect int, timeout time.Duration) error {
	offsets := map[int32]kgo.Offset{}
	for p := 0; p < partitions; p++ {
		offsets[int32(p)] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	if err != nil {
		return err
	}
	defer cl.Close()
	f, err := os.Create(outPath)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	count := 0
	for count < expect {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = fmt.Errorf("fetch %s/%d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			w.WriteString(row(r))
			count++
		})
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("EVENT {\"kind\":\"consumed\",\"count\":%d}\n", count)
	if count < expect {
		return fmt.Errorf("read %d of %d records before the timeout", count, expect)
	}
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: franz-e2e produce|consume-assign [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "", "host:port")
	topic := fs.String("topic", "", "topic")
	records := fs.String("records", "", "records file")
	acksOut := fs.String("acks-out", "", "acks file")
	partitions := fs.Int("partitions", 1, "partition count (record i goes to i % partitions)")
	acks := fs.String("acks", "all", "all (idempotent) or 1")
	expect := fs.Int("expect", 0, "records to read")
	out := fs.String("out", "", "consumed records file")
	timeout := fs.Duration("timeout", 60*time.Second, "consume time bound")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "produce":
		err = produce(*bootstrap, *topic, *records, *acksOut, *partitions, *acks)
	case "consume-assign":
		err = consumeAssign(*bootstrap, *topic, *out, *partitions, *expect, *timeout)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "franz-e2e:", err)
		os.Exit(1)
	}
}

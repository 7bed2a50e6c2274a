package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/producer"
)

func TestScan(t *testing.T) {
	const keys, perKey = 50, 40
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	p, err := producer.New(ctx, producer.Config{Stream: "s", Client: kc, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	put := func(from, to int) {
		t.Helper()
		for n := from; n < to; n++ {
			for k := range keys {
				if _, err := p.Put(ctx, producer.Record{PartitionKey: fmt.Sprint("key-", k), Data: fmt.Appendf(nil, "key-%d:%d", k, n)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	put(0, perKey/2)
	if _, err := kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("s"), ShardToSplit: aws.String("shardId-000000000001"),
		NewStartingHashKey: aws.String("170141183460469231731687303715884105728")}); err != nil {
		t.Fatal(err)
	}
	put(perKey/2, perKey)

	c := &collector{}
	cfg := consumer.ScanConfig{Stream: "s", Client: kc, IdleTime: 10 * time.Millisecond}
	err = consumer.Scan(ctx, cfg, func(r consumer.Record) error {
		c.seen = append(c.seen, string(r.Data)) // Scan calls one at a time
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if dups, missing, outOfOrder := c.check(keys, perKey); dups != 0 || missing != 0 || outOfOrder != 0 {
		t.Errorf("Scan read %d twice, missed %d, %d keys out of order; want none", dups, missing, outOfOrder)
	}

	// fn's error stops the scan and comes back.
	stop := errors.New("enough")
	n := 0
	err = consumer.Scan(ctx, cfg, func(consumer.Record) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Errorf("Scan whose function fails at the 10th record: %v after %d records", err, n)
	}

	// Follow from LATEST: only what is put after, until ctx ends.
	fctx, cancel := context.WithCancel(ctx)
	got := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		done <- consumer.Scan(fctx, consumer.ScanConfig{Stream: "s", Client: kc, From: consumer.Latest, Follow: true, IdleTime: 10 * time.Millisecond},
			func(r consumer.Record) error { got <- string(r.Data); return nil })
	}()
	time.Sleep(300 * time.Millisecond) // its leases are made from LATEST
	if _, err := p.Put(ctx, producer.Record{PartitionKey: "new", Data: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	p.Flush(ctx)
	select {
	case r := <-got:
		if r != "after" {
			t.Errorf("following from LATEST, the first record is %q, want the one put after", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("following: the new record never came")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Scan with Follow returned %v when ctx ended, want context.Canceled", err)
	}
}

// TestScanStreamDeleted: the stream deleted under a following Scan ends it
// with the error, rather than retrying for ever.
func TestScanStreamDeleted(t *testing.T) {
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		done <- consumer.Scan(ctx, consumer.ScanConfig{Stream: "s", Client: kc, Follow: true, IdleTime: 10 * time.Millisecond},
			func(consumer.Record) error { return nil })
	}()
	go func() {
		time.Sleep(300 * time.Millisecond) // reading
		close(started)
	}()
	<-started
	if _, err := kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Errorf("Scan of a deleted stream returned %v, want its ResourceNotFoundException", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Scan went on after its stream was deleted")
	}
}

// TestStopCancelsReads: a worker stopped while a GetRecords is slow does
// not wait for it.
func TestStopCancelsReads(t *testing.T) {
	ctx := context.Background()
	inj := faults.New(1)
	kc := inproc.Start(t, inproc.Options{Faults: inj})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := inj.Add(faults.Rule{Operation: "GetRecords", Effect: faults.EffectLatency, Latency: faults.Duration(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	w, err := consumer.NewWorker(consumer.Config{Stream: "s", Client: kc, Leases: consumer.NewMemoryLeaseStore(),
		NewProcessor: func(string) consumer.Processor { return &collectorProc{c: &collector{}} },
		Logger:       slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(wctx) }()
	waitFor(t, "the lease taken", func() bool { return len(w.Held()) == 1 })
	time.Sleep(200 * time.Millisecond) // its GetRecords is under way, for a minute
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run waited for the minute-long GetRecords")
	}
}

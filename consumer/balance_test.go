package consumer_test

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/internal/inproc"
)

// TestIdleStreamBalancesByCount: once a stream goes idle, its leases
// weigh alike again, and the workers share them by count. Here a hot
// shard first ends alone on its worker (as in TestBalanceByThroughput);
// then the writes stop. Each owner halves a lease's ThroughputKBps at
// every renewal that read nothing, so the rates fall towards zero but
// keep their proportions: weighed by them, an idle stream stays split 1
// and 3 for good (found by consumer/e2e, whose idle stream ended split 4,
// 1 and 3 over three workers). Idle leases must weigh 1 each.
func TestIdleStreamBalancesByCount(t *testing.T) {
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	shardKey := func(i int) string { return new(big.Int).Lsh(big.NewInt(int64(i)), 126).String() }
	wctx, stopWriting := context.WithCancel(ctx)
	var writer sync.WaitGroup
	defer func() { stopWriting(); writer.Wait() }()
	writer.Go(func() {
		data := make([]byte, 1000)
		for wctx.Err() == nil {
			var entries []types.PutRecordsRequestEntry
			for range 50 {
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("hot"), ExplicitHashKey: aws.String(shardKey(0)), Data: data})
			}
			for i := 1; i < 4; i++ {
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("quiet"), ExplicitHashKey: aws.String(shardKey(i)), Data: data})
			}
			kc.PutRecords(wctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: entries})
			time.Sleep(20 * time.Millisecond)
		}
	})

	store := consumer.NewMemoryLeaseStore()
	c := &collector{}
	a := startWorker(t, kc, store, c, "a")
	waitFor(t, "a to take every lease", func() bool { return len(a.w.Held()) == 4 })
	b := startWorker(t, kc, store, c, "b")
	waitFor(t, "the read rates in the leases", func() bool {
		leases, _ := store.List(ctx)
		rates := map[string]float64{}
		for _, l := range leases {
			rates[l.Key] = l.ThroughputKBps
		}
		hot := rates["shardId-000000000000"]
		for _, quiet := range []string{"shardId-000000000001", "shardId-000000000002", "shardId-000000000003"} {
			if q := rates[quiet]; q <= 0 || hot < 10*q {
				return false
			}
		}
		return len(rates) == 4
	})
	// By the rates: the hot shard alone, for a second.
	hotAlone := func() bool {
		ha, hb := a.w.Held(), b.w.Held()
		return (len(ha) == 1 && ha[0] == "shardId-000000000000" && len(hb) == 3) ||
			(len(hb) == 1 && hb[0] == "shardId-000000000000" && len(ha) == 3)
	}
	since := time.Now()
	waitFor(t, "the hot shard's worker to hold it alone for a second", func() bool {
		if !hotAlone() {
			since = time.Now()
		}
		return time.Since(since) >= time.Second
	})
	stopWriting()
	writer.Wait()
	stopped := time.Now()
	deadline := stopped.Add(10 * time.Second) // some 50 renewals (FailoverTime 600 ms)
	for len(a.w.Held()) != 2 || len(b.w.Held()) != 2 {
		if time.Now().After(deadline) {
			leases, _ := store.List(ctx)
			for _, l := range leases {
				t.Logf("%s owner %s %.3g KB/s", l.Key, l.Owner, l.ThroughputKBps)
			}
			t.Fatalf("the stream idle for %v, a holds %v and b %v; want 2 and 2", time.Since(stopped).Round(time.Millisecond), a.w.Held(), b.w.Held())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("shared 2 and 2 %v after the writes stopped", time.Since(stopped).Round(time.Millisecond))
}

// TestRebalancePastAnUnmovableLease: a worker below its share takes from
// the most loaded worker that has a lease to give, not only from the most
// loaded one. Here an owner ("f", the test) holds one hot shard alone,
// which weighs more than the gap to anyone and so never moves; b holds the
// 5 idle ones. c joins: comparing itself only with f, it takes nothing,
// and b keeps 5 leases to c's 0 for good (consumer/e2e ended with loads
// 6.5, 6.2 and 3.3, the middle one a hot shard alone). c should end with
// 2 and b with 3.
func TestRebalancePastAnUnmovableLease(t *testing.T) {
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(6)}); err != nil {
		t.Fatal(err)
	}
	store := consumer.NewMemoryLeaseStore()
	c := &collector{}
	b := startWorker(t, kc, store, c, "b")
	waitFor(t, "b to take every lease", func() bool { return len(b.w.Held()) == 6 })

	// f takes the hot shard and holds it, writing a read rate far above
	// the others' (0), as a live worker renewing it would.
	const hot = "shardId-000000000000"
	fctx, stopF := context.WithCancel(ctx)
	var f sync.WaitGroup
	defer func() { stopF(); f.Wait() }()
	f.Go(func() {
		for fctx.Err() == nil {
			if l, err := store.Get(ctx, hot); err == nil {
				l.Owner, l.CheckpointOwner, l.ThroughputKBps = "f", "", 1000
				store.Update(ctx, l)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	waitFor(t, "b to lose the hot shard to f", func() bool { return len(b.w.Held()) == 5 })

	cw := startWorker(t, kc, store, c, "c")
	joined := time.Now()
	deadline := joined.Add(5 * time.Second) // some 25 rounds (FailoverTime 600 ms)
	for len(cw.w.Held()) != 2 || len(b.w.Held()) != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%v after c joined, b holds %v and c %v (f the hot shard); want 3 and 2", time.Since(joined).Round(time.Millisecond), b.w.Held(), cw.w.Held())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("b 3 and c 2 %v after c joined", time.Since(joined).Round(time.Millisecond))
}

package jetstream

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tributary-io/tributary/storage"
)

// BenchmarkClusterDrain measures Drain of node n4 of a four-node R3
// cluster on this machine, with logs shards holding mib MiB of records
// in all (1000-byte records in batches of 500), no writes running. One
// op is one drain, from the request to n4's removal from the metadata
// group; s/drain is its time, MB-moved the bytes of the streams whose
// replica left n4 (as their leaders count them), replicas the replicas
// moved. Setting up the cluster
// and filling it is not timed. Run with:
//
//	go test -run '^$' -bench ClusterDrain -benchtime 1x ./storage/jetstream/
func BenchmarkClusterDrain(b *testing.B) {
	for _, c := range []struct{ logs, mib int }{{16, 64}, {256, 128}, {16, 256}} {
		b.Run(fmt.Sprintf("logs=%d/data=%dMiB", c.logs, c.mib), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				took, moved, replicas := drainOnce(b, c.logs, c.mib)
				b.ReportMetric(took.Seconds(), "s/drain")
				b.ReportMetric(float64(moved)/1e6, "MB-moved")
				b.ReportMetric(float64(replicas), "replicas")
			}
		})
	}
}

// drainOnce opens a cluster, fills it and drains n4; it returns the
// drain's time, the bytes of the streams it moved and how many replicas
// moved.
func drainOnce(b *testing.B, logs, mib int) (time.Duration, uint64, int) {
	ctx, cancel := context.WithTimeout(b.Context(), 3*time.Minute)
	defer cancel()
	addrs := freeAddrs(b, 4)
	es := make([]*Engine, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range es {
		wg.Go(func() {
			es[i], errs[i] = Open(ctx, Options{Dir: b.TempDir(), ServerName: fmt.Sprintf("n%d", i+1), TrimInterval: -1,
				Cluster: &Cluster{Name: "bench", Listen: addrs[i], Peers: addrs, Replicas: 3}})
		})
	}
	wg.Wait()
	defer func() {
		for _, e := range es {
			if e != nil {
				e.Close()
			}
		}
	}()
	for i, err := range errs {
		if err != nil {
			b.Fatalf("open n%d: %v", i+1, err)
		}
	}
	batch := benchBatch(500, 1000)
	perLog := max(mib<<20/logs/(500*1000), 1)
	for i := range logs {
		wg.Go(func() {
			l, err := es[i%3].CreateLog(ctx, fmt.Sprintf("log-%d", i), storage.LogOptions{})
			if err != nil {
				b.Error(err)
				return
			}
			for range perLog {
				if _, err := l.Append(ctx, batch); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	var moved uint64
	for _, name := range es[0].streamNames() {
		info, err := es[0].streamInfo(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		if l, r := peersOf(info); l == "n4" || slices.Contains(r, "n4") {
			moved += info.State.Bytes
		}
	}
	replicas := 0
	b.StartTimer()
	start := time.Now()
	err := es[0].Drain(ctx, "n4", func(m Move) {
		if m.What != MoveReplica {
			return
		}
		replicas++
		// No writes run: the replica that took n4's place must hold
		// every message the moment the stream counts as settled.
		to := es[slices.IndexFunc(es, func(e *Engine) bool { return e.ns.Name() == m.To })]
		info, err := es[0].streamInfo(ctx, m.Stream)
		if err != nil {
			b.Error(err)
			return
		}
		if got := localMsgs(b, to, m.Stream); got != info.State.Msgs {
			b.Errorf("%s on %s holds %d messages when it settled, the leader %d", m.Stream, m.To, got, info.State.Msgs)
		}
	})
	took := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	return took, moved, replicas
}

// localMsgs is how many messages e's own replica of stream holds.
func localMsgs(tb testing.TB, e *Engine, stream string) uint64 {
	tb.Helper()
	info, err := e.ns.Jsz(&server.JSzOptions{Accounts: true, Streams: true})
	if err != nil {
		tb.Fatal(err)
	}
	for _, ad := range info.AccountDetails {
		for _, sd := range ad.Streams {
			if sd.Name == stream {
				return sd.State.Msgs
			}
		}
	}
	tb.Fatalf("%s holds no replica of %s", e.ns.Name(), stream)
	return 0
}

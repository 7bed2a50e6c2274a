package producer

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/storage/local"
)

// TestMemoryBoundedUnderLatency: a writer puts 64 MiB of 1 KiB records
// (a new slice each) as fast as it can into a producer with
// MaxBufferedBytes 4 MiB, against a server that answers every PutRecords
// only after 300 ms or 1 s (latency faults). The server takes 3 to 5
// MiB/s that way, so Put must block: the buffered bytes never exceed
// the limit and reach it, the puts end only near the end of the run (the
// writer cannot get ahead of the server by more than the buffer), and
// the live heap, sampled after two GCs every 100 ms, stays under
//
//	memoryBoundBuffers × MaxBufferedBytes + memoryBoundFixed = 56 MiB.
//
// A producer that did not block would hold nearly all 64 MiB of records
// by the end of the puts (a second without blocking), above the bound.
//
// The bound counts the copies a buffered byte can have at once in this
// test, where the server runs in the test's process and its heap is ours
// (heap profiles at the peak show them):
//
//   - the records themselves, while buffered (1×);
//   - the KPL aggregate built from them, in the request (1×);
//   - the SDK's JSON body, where data is base64 (4/3×), in a buffer grown
//     by doubling (up to 2 × 4/3×);
//   - on the server, the body read, likewise (up to 2 × 4/3×), the records
//     decoded from it (1×), held through the latency before they are
//     stored, and the journal's group-commit buffer (1×, up to 2×);
//
// up to about 10.3×, rounded up to 12×. The server stores the records on
// disk (the local engine), not in the heap. The fixed part covers the
// baseline (about 1 MiB after the set-up: the runtime, the SDK, the
// server) and the sampling many times over. Measured peaks: 24 to 41 MiB.
// The writer keeps no Future (64k of them would be 13 MiB of the test's
// own); the metrics count the outcomes.
func TestMemoryBoundedUnderLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("puts 64 MiB through a server that answers after up to a second: about 15 s")
	}
	const (
		maxBuffered        = 4 << 20
		recordSize         = 1024
		records            = 64 << 10 // 64 MiB of records: 16 buffers
		keys               = 1000
		memoryBoundBuffers = 12
		memoryBoundFixed   = 8 << 20
	)
	ctx := context.Background()
	inj := faults.New(1)
	// 300 ms on every call, 700 ms more on half of them.
	for _, r := range []faults.Rule{
		{Operation: "PutRecords", Effect: faults.EffectLatency, Latency: faults.Duration(300 * time.Millisecond)},
		{Operation: "PutRecords", Effect: faults.EffectLatency, Latency: faults.Duration(700 * time.Millisecond), Probability: 0.5},
	} {
		if _, err := inj.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	engine, err := local.Open(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	kc := inproc.Start(t, inproc.Options{Engine: engine, Faults: inj})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	// Aggregates of up to 1 MiB, so that the 8 shards can carry the whole
	// buffer in one round trip: with the default 50 KiB the test would be
	// slow, bound by aggregate size rather than by the buffer.
	p, err := New(ctx, Config{Stream: "s", Client: kc, MaxBufferedBytes: maxBuffered, AggregationMaxSize: 1 << 20,
		Linger: 20 * time.Millisecond, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	// The sampler: live heap after a GC, HeapInuse as it is, and the
	// records the producer has pending (kpl_user_records_pending: taken by
	// Put and not yet answered, which is what MaxBufferedBytes bounds).
	var (
		peakLive, peakInuse uint64
		peakPending         float64
		samples             int
	)
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakInuse = max(peakInuse, ms.HeapInuse)
			// Two collections: the in-process server keeps the buffers of
			// requests it has answered in its pools (internal/bufpool)
			// until a collection finds them unused since the one before.
			// They are idle caches, not memory anyone holds; buffers in
			// use are still counted.
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peakLive = max(peakLive, ms.HeapAlloc)
			peakPending = max(peakPending, testutil.ToFloat64(m.userRecordsPending))
			samples++
		}
	})

	start := time.Now()
	for i := range records {
		data := make([]byte, recordSize) // a new record each time, as an application's
		copy(data, fmt.Sprint(i))
		if _, err := p.Put(ctx, Record{PartitionKey: fmt.Sprintf("key-%03d", i%keys), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	putting := time.Since(start)
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	elapsed := time.Since(start)
	close(stop)
	sampler.Wait()
	if put := sum(t, reg, "kpl_user_records_put_total"); put != records {
		t.Fatalf("%v records stored of %d", put, records)
	}

	const mib = 1 << 20
	// What MaxBufferedBytes counts of a record: its data and key, all of
	// one length.
	recordBytes := int64(recordSize + len("key-000"))
	peakBuffered := int64(peakPending) * recordBytes
	bound := uint64(memoryBoundBuffers*maxBuffered + memoryBoundFixed)
	t.Logf("%d records of %d B (%.0f MiB) in %.1f s (the puts done after %.1f s), %.1f MiB/s; MaxBufferedBytes %d MiB",
		records, recordSize, float64(records*recordSize)/mib, elapsed.Seconds(), putting.Seconds(),
		float64(records*recordSize)/mib/elapsed.Seconds(), maxBuffered/mib)
	t.Logf("peaks over %d samples: live heap %.1f MiB (%.1f MiB at the start; bound %.0f MiB), HeapInuse %.1f MiB, pending %.0f records (%.2f MiB)",
		samples, float64(peakLive)/mib, float64(base.HeapAlloc)/mib, float64(bound)/mib, float64(peakInuse)/mib,
		peakPending, float64(peakBuffered)/mib)

	if samples < 10 {
		t.Fatalf("%d samples: the run was too short to watch", samples)
	}
	if peakBuffered > maxBuffered {
		t.Errorf("%v records of %d bytes pending: above MaxBufferedBytes %d", peakPending, recordBytes, maxBuffered)
	}
	// Put blocked: the buffer filled up (to within the record the writer
	// holds, reserved and not yet handed over, and the next), and the
	// puts, which would take a fraction of a second unblocked, lasted
	// most of the run (a producer buffering everything: 0.2 s of 8 s).
	if peakBuffered < maxBuffered-2*recordBytes {
		t.Errorf("the buffer held at most %d bytes of %d: it never filled, so Put never had to block", peakBuffered, maxBuffered)
	}
	if putting < elapsed/2 {
		t.Errorf("the puts were done after %v of %v: Put did not block", putting, elapsed)
	}
	if peakLive > bound {
		t.Errorf("live heap peaked at %.1f MiB, above the bound of %.0f MiB", float64(peakLive)/mib, float64(bound)/mib)
	}
}

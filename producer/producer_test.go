package producer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/internal/inproc"
)

// TestFlushAndTryPut: with a Linger far longer than the test, records go
// only when Flush asks, and TryPut refuses at once when the buffer is
// full instead of blocking.
func TestFlushAndTryPut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kc := newFaultyTributary(t, 0, 4)
	p, err := New(ctx, Config{Stream: "s", Client: kc, Linger: time.Hour, MaxBufferedRecords: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	var futures []*Future
	for i := range 3 {
		f, err := p.TryPut(Record{PartitionKey: fmt.Sprint("k", i), Data: []byte{byte(i)}})
		if err != nil {
			t.Fatalf("TryPut %d: %v", i, err)
		}
		futures = append(futures, f)
	}
	if _, err := p.TryPut(Record{PartitionKey: "k3", Data: []byte{3}}); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("TryPut into a full buffer: %v, want ErrBufferFull", err)
	}
	time.Sleep(50 * time.Millisecond)
	for i, f := range futures {
		select {
		case <-f.Done():
			t.Fatalf("record %d went before its Linger without a Flush", i)
		default:
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, f := range futures {
		select {
		case <-f.Done():
			if f.res.Err != nil || f.res.SequenceNumber == "" {
				t.Errorf("record %d: %+v", i, f.res)
			}
		default:
			t.Fatalf("record %d has no outcome after Flush", i)
		}
	}
	if _, err := p.TryPut(Record{PartitionKey: "k3", Data: []byte{3}}); err != nil {
		t.Fatalf("TryPut after the Flush freed the buffer: %v", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Put(ctx, Record{PartitionKey: "k", Data: []byte{1}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v, want ErrClosed", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Errorf("Flush after Close: %v", err)
	}
}

// TestPutBlocksOnBytes: Put waits while MaxBufferedBytes is reached and
// returns ctx's error if it ends first.
func TestPutBlocksOnBytes(t *testing.T) {
	ctx := context.Background()
	kc := newFaultyTributary(t, 0, 1)
	p, err := New(ctx, Config{Stream: "s", Client: kc, Linger: time.Hour, MaxBufferedBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.Put(ctx, Record{PartitionKey: "k", Data: make([]byte, 90)}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := p.Put(short, Record{PartitionKey: "k", Data: make([]byte, 20)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put over MaxBufferedBytes: %v, want it to wait until its context ended", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Put(ctx, Record{PartitionKey: "k", Data: make([]byte, 20)})
		done <- err
	}()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Put still blocked after the buffer emptied")
	}
}

// TestEveryPutEndsInOneOutcome: records a server keeps refusing fail
// after their TTL with the last error, and records of a deleted stream
// fail at once with ResourceNotFoundException; none is left without an
// outcome, and Close returns.
func TestEveryPutEndsInOneOutcome(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	kc := newFaultyTributary(t, 1, 2) // every entry refused
	p, err := New(ctx, Config{Stream: "s", Client: kc, RecordTTL: 300 * time.Millisecond, RetryDelay: 5 * time.Millisecond, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var futures []*Future
	for i := range 20 {
		f, err := p.Put(ctx, Record{PartitionKey: fmt.Sprint("k", i), Data: []byte{byte(i)}})
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
	}
	start := time.Now()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for i, f := range futures {
		res, _ := f.Wait(ctx)
		var ee *entryError
		if res.Err == nil || !errors.As(res.Err, &ee) || ee.code != "InternalFailure" || res.Attempts < 2 {
			t.Errorf("record %d: %+v, want a failure after several attempts wrapping InternalFailure", i, res)
		}
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("records failed after %v, before their TTL", d)
	}

	kc2 := newFaultyTributary(t, 0, 1)
	p2, err := New(ctx, Config{Stream: "s", Client: kc2, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc2.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // DELETING, then gone
	f, err := p2.Put(ctx, Record{PartitionKey: "k", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := f.Wait(ctx)
	var nf *types.ResourceNotFoundException
	if !errors.As(res.Err, &nf) || res.Attempts != 1 {
		t.Errorf("a record of a deleted stream: %+v, want ResourceNotFoundException after one attempt", res)
	}
	if err := p2.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestUncertain(t *testing.T) {
	response := func(code int) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("failed")}}
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"entry refused", &entryError{code: "ProvisionedThroughputExceededException"}, false},
		{"400", fmt.Errorf("operation error: %w", response(400)), false},
		{"429", response(429), false},
		{"500", response(500), true},
		{"503", response(503), true},
		{"200 cut short", response(200), true},
		{"no answer", errors.New("connection reset by peer"), true},
		{"timeout", context.DeadlineExceeded, true},
	} {
		if got := uncertain(tt.err); got != tt.want {
			t.Errorf("%s: uncertain = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestCloseWhenCtxEnds: Close's ctx ends while requests are slow; the
// records not yet sent fail at once with its error, those under way get
// their request's outcome, and none is left without one.
func TestCloseWhenCtxEnds(t *testing.T) {
	ctx := context.Background()
	inj := faults.New(1)
	if _, err := inj.Add(faults.Rule{Operation: "PutRecords", Effect: faults.EffectLatency, Latency: faults.Duration(time.Second)}); err != nil {
		t.Fatal(err)
	}
	kc := inproc.Start(t, inproc.Options{Faults: inj})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	p, err := New(ctx, Config{Stream: "s", Client: kc, Linger: time.Millisecond, AggregationMaxSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var futures []*Future
	for i := range 2000 {
		f, err := p.Put(ctx, Record{PartitionKey: fmt.Sprint(i), Data: make([]byte, 100)})
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
	}
	time.Sleep(100 * time.Millisecond) // the first requests are under way
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := p.Close(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the deadline", err)
	}
	stored, aborted := 0, 0
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	for i, f := range futures {
		res, err := f.Wait(wctx)
		switch {
		case err != nil:
			t.Fatalf("record %d has no outcome: %v", i, err)
		case res.Err == nil:
			stored++
		case errors.Is(res.Err, context.DeadlineExceeded):
			aborted++
		default:
			t.Fatalf("record %d: %v", i, res.Err)
		}
	}
	t.Logf("%d stored (under way at Close's deadline), %d failed with it", stored, aborted)
	if stored == 0 || aborted == 0 {
		t.Errorf("%d stored and %d failed with the deadline; want some of each", stored, aborted)
	}
}

// TestInvalidRecordIsolated: Kinesis refuses a whole PutRecords for one
// record larger than the stream's maximum; the producer sends the
// request's entries again one by one, so only that record fails.
func TestInvalidRecordIsolated(t *testing.T) {
	ctx := context.Background()
	inj := faults.New(1)
	// The first request is slow, and only one goes at a time, so that the
	// records put meanwhile all leave together in the second.
	if _, err := inj.Add(faults.Rule{Operation: "PutRecords", Effect: faults.EffectLatency, Latency: faults.Duration(300 * time.Millisecond), Count: 1}); err != nil {
		t.Fatal(err)
	}
	kc := inproc.Start(t, inproc.Options{Faults: inj})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	p, err := New(ctx, Config{Stream: "s", Client: kc, Linger: time.Millisecond, MaxInFlight: 1, RateLimit: 100}) // a 2 MiB entry is above a shard's rate
	if err != nil {
		t.Fatal(err)
	}
	first, err := p.Put(ctx, Record{PartitionKey: "first", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // it is under way
	var futures []*Future
	for i := range 400 {
		data := make([]byte, 100)
		if i == 0 {
			data = make([]byte, 2<<20) // the stream's maximum is 1 MiB
		}
		f, err := p.Put(ctx, Record{PartitionKey: fmt.Sprint(i), Data: data})
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if res, _ := first.Wait(ctx); res.Err != nil || res.Attempts != 1 {
		t.Fatalf("the first record: %+v", res)
	}
	for i, f := range futures {
		res, _ := f.Wait(ctx)
		if i == 0 {
			if errorCode(res.Err) != "InvalidArgumentException" || res.Attempts != 2 {
				t.Errorf("the 2 MiB record: %+v; want InvalidArgumentException on its second attempt, alone", res)
			}
			continue
		}
		if res.Err != nil {
			t.Errorf("record %d failed with the large one: %v", i, res.Err)
		}
	}
	if _, err := p.Put(ctx, Record{PartitionKey: strings.Repeat("k", 257), Data: []byte("x")}); err == nil || !strings.Contains(err.Error(), "at most 256") {
		t.Errorf("Put with a 257-character key: %v", err)
	}
}

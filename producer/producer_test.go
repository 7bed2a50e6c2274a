package producer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
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

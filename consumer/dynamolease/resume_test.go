package dynamolease_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/internal/inproc"
)

// resumeProc collects the records it is given.
type resumeProc struct {
	mu  *sync.Mutex
	got *[]string
}

func (p resumeProc) Initialize(context.Context, consumer.InitializeInput) error { return nil }
func (p resumeProc) ProcessRecords(ctx context.Context, in consumer.ProcessRecordsInput) error {
	p.mu.Lock()
	for _, r := range in.Records {
		*p.got = append(*p.got, string(r.Data))
	}
	p.mu.Unlock()
	return in.Checkpointer.Checkpoint(ctx)
}
func (p resumeProc) LeaseLost(context.Context) {}
func (p resumeProc) ShardEnded(ctx context.Context, cp consumer.Checkpointer) error {
	return cp.Checkpoint(ctx)
}
func (p resumeProc) ShutdownRequested(ctx context.Context, cp consumer.Checkpointer) error {
	return cp.Checkpoint(ctx)
}

// TestResumesJavaCheckpoints: a lease table as a Java KCL 3.x application
// left it (its worker gone, its checkpoint after the 5th of 10 records)
// is taken over by a Go worker, which processes the 5 records after the
// checkpoint and no other, and checkpoints in the same table.
func TestResumesJavaCheckpoints(t *testing.T) {
	bg := context.Background()
	kc := inproc.Start(t, inproc.Options{})
	if _, err := kc.CreateStream(bg, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	var seqs []string
	for i := range 10 {
		out, err := kc.PutRecord(bg, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: fmt.Appendf(nil, "r%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	store, c, table := newStore(t)
	// As Java KCL writes a lease (see TestReadsJavaLeases for the shape).
	put(t, c, table, map[string]types.AttributeValue{
		"leaseKey":                     &types.AttributeValueMemberS{Value: "shardId-000000000000"},
		"leaseOwner":                   &types.AttributeValueMemberS{Value: "java-worker-1"},
		"leaseCounter":                 &types.AttributeValueMemberN{Value: "41"},
		"checkpoint":                   &types.AttributeValueMemberS{Value: seqs[4]},
		"checkpointSubSequenceNumber":  &types.AttributeValueMemberN{Value: "0"},
		"ownerSwitchesSinceCheckpoint": &types.AttributeValueMemberN{Value: "0"},
		"startingHashKey":              &types.AttributeValueMemberS{Value: "0"},
		"endingHashKey":                &types.AttributeValueMemberS{Value: "340282366920938463463374607431768211455"},
		"entityType":                   &types.AttributeValueMemberS{Value: "LEASE"},
	})
	var mu sync.Mutex
	var got []string
	w, err := consumer.NewWorker(consumer.Config{Stream: "s", Client: kc, Leases: store, WorkerID: "go-worker",
		NewProcessor: func(string) consumer.Processor { return resumeProc{&mu, &got} },
		FailoverTime: 300 * time.Millisecond, IdleTime: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(wctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // anything more would show
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"r5", "r6", "r7", "r8", "r9"}; !slices.Equal(got, want) {
		t.Errorf("resumed from the Java checkpoint after r4, processed %v; want %v", got, want)
	}
	l, err := store.Get(bg, "shardId-000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if l.Checkpoint.SequenceNumber != seqs[9] || l.Owner != "" || l.OwnerSwitchesSinceCheckpoint != 0 {
		t.Errorf("lease after the Go worker stopped: %+v; want checkpoint %s, no owner", l, seqs[9])
	}
}

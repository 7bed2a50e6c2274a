package history_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/internal/history"
	"github.com/tributary-io/tributary/internal/inproc"
)

// workload runs writers and readers against kc and returns the checked
// history: 4 writers each send 20 PutRecords of 10 entries and 20
// PutRecord calls to a stream of 4 shards, split to 8 half way through;
// one GetRecords reader and one subscriber per initial shard read until
// the writers are done (the parents are then closed, so they end by
// themselves), and the final read covers parents and children.
func workload(t *testing.T, kc *kinesis.Client) (history.History, history.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const stream, shards = "h", 4
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	d, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: d.StreamDescriptionSummary.StreamARN, ConsumerName: aws.String("c")})
	if err != nil {
		t.Fatal(err)
	}

	rec := history.NewRecorder()
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	var readers sync.WaitGroup
	readErrs := make(chan error, 2*shards)
	for i := range shards {
		shard := fmt.Sprintf("shardId-%012d", i)
		readers.Go(func() {
			if _, err := rec.ReadShard(readCtx, kc, stream, shard, history.ReadOptions{Limit: 7}); err != nil && !errors.Is(err, context.Canceled) {
				readErrs <- err
			}
		})
		readers.Go(func() {
			if _, err := rec.Subscribe(readCtx, kc, aws.ToString(reg.Consumer.ConsumerARN), stream, shard, history.ReadOptions{}); err != nil && !errors.Is(err, context.Canceled) {
				readErrs <- err
			}
		})
	}

	const writers, calls = 4, 20
	var wrote sync.WaitGroup
	half := make(chan struct{}, writers)
	for w := range writers {
		wrote.Go(func() {
			for c := range calls {
				if c == calls/2 {
					half <- struct{}{}
				}
				in := &kinesis.PutRecordsInput{StreamName: aws.String(stream)}
				for e := range 10 {
					in.Records = append(in.Records, types.PutRecordsRequestEntry{
						PartitionKey: aws.String(fmt.Sprintf("k%d", (w*31+c*7+e)%50)), Data: fmt.Appendf(nil, "w%d-c%d-e%d", w, c, e)})
				}
				rec.PutRecords(ctx, kc, in) // the outcome is in the history
				rec.PutRecord(ctx, kc, &kinesis.PutRecordInput{StreamName: aws.String(stream),
					PartitionKey: aws.String(fmt.Sprintf("k%d", c)), Data: fmt.Appendf(nil, "w%d-c%d-single", w, c)})
			}
		})
	}
	for range writers {
		<-half
	}
	// Resharding under the writers: the parents close, the children
	// take their writes.
	if _, err := kc.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(stream),
		TargetShardCount: aws.Int32(2 * shards), ScalingType: types.ScalingTypeUniformScaling}); err != nil {
		t.Error(err)
	}
	wrote.Wait()
	// The readers of the parents end when they reach the closed end;
	// give them the time and stop the rest.
	time.AfterFunc(200*time.Millisecond, stopReading)
	readers.Wait()
	close(readErrs)
	for err := range readErrs {
		t.Errorf("reader: %v", err)
	}
	return check(t, ctx, kc, rec, stream)
}

func check(t *testing.T, ctx context.Context, kc *kinesis.Client, rec *history.Recorder, stream string) (history.History, history.Result) {
	t.Helper()
	if err := rec.FinalRead(ctx, kc, stream); err != nil {
		t.Fatal(err)
	}
	h := rec.History()
	res, err := history.Check(h)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		var b bytes.Buffer
		if err := h.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		t.Fatalf("%s\nthe history:\n%s", res, b.Bytes())
	}
	t.Log(res)
	return h, res
}

func TestRecorder(t *testing.T) {
	kc := inproc.Start(t, inproc.Options{HTTP2: true})
	h, res := workload(t, kc)
	const sent = 4 * 20 * 11
	if s := res.Stats; s.Writes != sent || s.Acknowledged != sent || s.FinalRecords != sent {
		t.Errorf("stats %+v, want all %d records acknowledged and in the final read", s, sent)
	}
	var kinds = map[string]int{}
	for _, r := range h.Reads {
		kinds[r.Kind] += len(r.Records)
	}
	if kinds["GetRecords"] == 0 || kinds["SubscribeToShard"] == 0 {
		t.Errorf("records read by kind %v, want both readers to have read", kinds)
	}
	shards := map[string]bool{}
	for _, r := range h.Final {
		shards[r.ShardID] = true
	}
	if len(shards) != 12 {
		t.Errorf("the final read covers %d shards, want the 4 parents and 8 children", len(shards))
	}

	// The JSON dump gives the same history back.
	var b bytes.Buffer
	if err := h.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	back, err := history.ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Writes) != len(h.Writes) || len(back.Reads) != len(h.Reads) || len(back.Final) != len(h.Final) {
		t.Fatalf("dumped %d/%d/%d, read back %d/%d/%d", len(h.Writes), len(h.Reads), len(h.Final), len(back.Writes), len(back.Reads), len(back.Final))
	}
	if w, g := h.Writes[0], back.Writes[0]; !g.Start.Equal(w.Start) || !bytes.Equal(g.Data, w.Data) || g.SequenceNumber != w.SequenceNumber {
		t.Errorf("first write dumped %+v, read back %+v", w, g)
	}
	if res2, err := history.Check(back); err != nil || !reflect.DeepEqual(res2, res) {
		t.Errorf("the history read back checks as %v, %v; want %v", res2, err, res)
	}
}

// TestRecorderUnderFaults runs the workload while the server loses
// answers after storing, fails entries and GetRecords calls and drops
// subscriptions: the history
// still checks, and the records of unknown outcome are counted, some
// stored and some not.
func TestRecorderUnderFaults(t *testing.T) {
	in := faults.New(17)
	for _, r := range []faults.Rule{
		{Operation: "PutRecords", Effect: faults.EffectLoseAnswer, Probability: 0.2},
		{Operation: "PutRecord", Effect: faults.EffectLoseAnswer, Probability: 0.2},
		{Operation: "PutRecords", Effect: faults.EffectPutRecordsFailures, Fraction: 0.2, Probability: 0.5},
		{Operation: "PutRecords", Effect: faults.EffectPutRecordsFailures, Fraction: 0.2, Probability: 0.3, ErrorCode: "InternalFailure"},
		{Operation: "PutRecord", Effect: faults.EffectError, ErrorType: "ProvisionedThroughputExceededException", Probability: 0.1},
		{Operation: "GetRecords", Effect: faults.EffectError, ErrorType: "InternalFailure", Probability: 0.1},
		{Operation: "SubscribeToShard", Effect: faults.EffectDropSubscription, Count: 3},
	} {
		if _, err := in.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	kc := inproc.Start(t, inproc.Options{HTTP2: true, Faults: in})
	_, res := workload(t, kc)
	s := res.Stats
	if s.Unknown == 0 || s.UnknownStored == 0 || s.UnknownStored == s.Unknown {
		t.Errorf("stats %+v, want records of unknown outcome both stored (lost answers) and not (InternalFailure entries)", s)
	}
	if s.Failed == 0 || s.Acknowledged == 0 || s.Writes != 4*20*11 {
		t.Errorf("stats %+v, want failures and acknowledgements among all %d writes", s, 4*20*11)
	}
	if s.FinalRecords != s.Acknowledged+s.UnknownStored {
		t.Errorf("stats %+v: the final read has %d records, want the acknowledged and the stored unknown ones", s, s.FinalRecords)
	}
}

// fakeClient answers PutRecord with a fixed error.
type fakeClient struct {
	history.Client
	err error
}

func (f fakeClient) PutRecord(context.Context, *kinesis.PutRecordInput, ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error) {
	return nil, f.err
}

func TestRecorderOutcomeOfErrors(t *testing.T) {
	tests := []struct {
		err  error
		want history.Outcome
		code string
	}{
		{&smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}, history.Failed, "ProvisionedThroughputExceededException"},
		{&smithy.GenericAPIError{Code: "ResourceNotFoundException"}, history.Failed, "ResourceNotFoundException"},
		{&smithy.GenericAPIError{Code: "InternalFailure"}, history.Unknown, "InternalFailure"},
		{&smithy.GenericAPIError{Code: "ServiceUnavailable"}, history.Unknown, "ServiceUnavailable"},
		{&smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecord", Err: &smithy.GenericAPIError{Code: "KMSThrottlingException"}}, history.Failed, "KMSThrottlingException"},
		{fmt.Errorf("sending: %w", context.DeadlineExceeded), history.Unknown, ""},
		{errors.New("connection reset by peer"), history.Unknown, ""},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			rec := history.NewRecorder()
			_, err := rec.PutRecord(context.Background(), fakeClient{err: tt.err}, &kinesis.PutRecordInput{
				StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s"), PartitionKey: aws.String("k"), Data: []byte("d")})
			if err != tt.err {
				t.Errorf("returned %v, want the client's error", err)
			}
			w := rec.History().Writes[0]
			if w.Outcome != tt.want || w.ErrorCode != tt.code || w.Stream != "s" || w.End.Before(w.Start) {
				t.Errorf("recorded %+v, want outcome %s with code %q in stream s", w, tt.want, tt.code)
			}
		})
	}
}

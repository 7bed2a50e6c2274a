package kinesis

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/tributary-io/tributary/sdkhttp"
)

// fakeService stands in for the handlers: it decodes what the real SDK
// sends with this package's codec, records the decoded input, and answers
// with whatever the test queued, encoded by this package.
type fakeService struct {
	t testing.TB

	mu          sync.Mutex
	inputs      []Input
	contentType []string
	bodies      [][]byte
	reply       func(op string, in Input) (any, *Error)
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("read body: %v", err)
		return
	}
	req := &Request{Target: r.Header.Get("X-Amz-Target"), ContentType: r.Header.Get("Content-Type"), Body: body}
	resp := f.handle(req)
	w.Header().Set("Content-Type", resp.ContentType)
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

func (f *fakeService) handle(req *Request) *Response {
	op, ok := OperationOf(req.Target)
	if !ok {
		return ErrorResponse(req.ContentType, UnknownOperation())
	}
	in, _ := NewInput(op)
	if err := DecodeRequest(req, in); err != nil {
		return ErrorResponse(req.ContentType, err)
	}
	f.mu.Lock()
	f.inputs = append(f.inputs, in)
	f.contentType = append(f.contentType, req.ContentType)
	f.bodies = append(f.bodies, req.Body)
	reply := f.reply
	f.mu.Unlock()
	var out any
	if reply != nil {
		var apiErr *Error
		out, apiErr = reply(op, in)
		if apiErr != nil {
			return ErrorResponse(req.ContentType, apiErr)
		}
	}
	return EncodeResponse(req.ContentType, out)
}

func (f *fakeService) last() Input {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.inputs) == 0 {
		f.t.Fatal("no request reached the service")
	}
	return f.inputs[len(f.inputs)-1]
}

// newSDKClient starts the fake service and points the real aws-sdk-go-v2
// Kinesis client at it, with retries off so errors surface at once.
func newSDKClient(t testing.TB, reply func(op string, in Input) (any, *Error)) (*sdk.Client, *fakeService) {
	t.Helper()
	svc := &fakeService{t: t, reply: reply}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	client := sdk.New(sdk.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   sdkhttp.Wrap(srv.Client()),
	})
	return client, svc
}

func TestSDKTypedErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     *Error
		check   func(error) bool
		message string
	}{
		{"not found", ResourceNotFound("Stream s under account 123456789012 not found."),
			func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) },
			"Stream s under account 123456789012 not found."},
		{"in use", ResourceInUse("Stream s is not ACTIVE."),
			func(err error) bool { var e *types.ResourceInUseException; return errors.As(err, &e) },
			"Stream s is not ACTIVE."},
		{"invalid argument", InvalidArgument("bad"),
			func(err error) bool { var e *types.InvalidArgumentException; return errors.As(err, &e) }, "bad"},
		{"limit", LimitExceeded("Rate exceeded"),
			func(err error) bool { var e *types.LimitExceededException; return errors.As(err, &e) }, "Rate exceeded"},
		{"expired iterator", NewError(ErrExpiredIterator, "Iterator expired."),
			func(err error) bool { var e *types.ExpiredIteratorException; return errors.As(err, &e) }, "Iterator expired."},
		{"throughput", NewError(ErrProvisionedThroughputExceeded, "Rate exceeded for shard"),
			func(err error) bool { var e *types.ProvisionedThroughputExceededException; return errors.As(err, &e) },
			"Rate exceeded for shard"},
		{"validation", ValidationError("1 validation error detected: x"),
			func(err error) bool { var e *types.ValidationException; return errors.As(err, &e) },
			"1 validation error detected: x"},
		{"kms", NewError(ErrKMSThrottling, "slow down"),
			func(err error) bool { var e *types.KMSThrottlingException; return errors.As(err, &e) }, "slow down"},
		{"access denied", NewError(ErrAccessDenied, "no"),
			func(err error) bool { var e *types.AccessDeniedException; return errors.As(err, &e) }, "no"},
		{"internal", NewError(ErrInternalFailureException, "boom"),
			func(err error) bool { var e *types.InternalFailureException; return errors.As(err, &e) }, "boom"},
		{"expired token", NewError(ErrExpiredNextToken, "old"),
			func(err error) bool { var e *types.ExpiredNextTokenException; return errors.As(err, &e) }, "old"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, _ := newSDKClient(t, func(string, Input) (any, *Error) { return nil, tc.err })
			_, err := client.DescribeStreamSummary(context.Background(), &sdk.DescribeStreamSummaryInput{StreamName: aws.String("s")})
			if err == nil {
				t.Fatal("no error")
			}
			if !tc.check(err) {
				t.Fatalf("error %T (%v) is not the typed exception", err, err)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("%v is not a smithy.APIError", err)
			}
			if apiErr.ErrorCode() != tc.err.Type || apiErr.ErrorMessage() != tc.message {
				t.Errorf("got code %q message %q, want %q %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), tc.err.Type, tc.message)
			}
		})
	}
}

func TestSDKProtocolErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      *Error
		wantCode string
		wantMsg  string
	}{
		{"serialization", SerializationError("class java.lang.String can not be converted to an Integer"),
			ErrSerialization, "class java.lang.String can not be converted to an Integer"},
		{"unknown operation", UnknownOperation(), ErrUnknownOperation, "UnknownError"},
		{"missing token", MissingAuthenticationToken(), ErrMissingAuthenticationToken, "Missing Authentication Token"},
		{"internal failure", InternalFailure(), ErrInternalFailure, "UnknownError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, _ := newSDKClient(t, func(string, Input) (any, *Error) { return nil, tc.err })
			_, err := client.ListStreams(context.Background(), &sdk.ListStreamsInput{})
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("%v is not a smithy.APIError", err)
			}
			// The SDK fills an empty message with "UnknownError".
			if apiErr.ErrorCode() != tc.wantCode || apiErr.ErrorMessage() != tc.wantMsg {
				t.Errorf("got %q %q, want %q %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), tc.wantCode, tc.wantMsg)
			}
			var re interface{ HTTPStatusCode() int }
			if errors.As(err, &re) && re.HTTPStatusCode() != tc.err.Status {
				t.Errorf("status %d, want %d", re.HTTPStatusCode(), tc.err.Status)
			}
		})
	}
}

func TestSDKPutRecordRoundTrip(t *testing.T) {
	client, svc := newSDKClient(t, func(op string, in Input) (any, *Error) {
		return &PutRecordOutput{ShardID: "shardId-000000000001", SequenceNumber: "49590338271490256608559692538361571095921575989136588898",
			EncryptionType: aws.String(EncryptionTypeNone)}, nil
	})
	data := []byte{0, 1, 2, 0xff, 'h', 'i'}
	out, err := client.PutRecord(context.Background(), &sdk.PutRecordInput{
		StreamName: aws.String("orders"), Data: data, PartitionKey: aws.String("pk-ü"),
		ExplicitHashKey: aws.String("170141183460469231731687303715884105728"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ShardId) != "shardId-000000000001" || aws.ToString(out.SequenceNumber) != "49590338271490256608559692538361571095921575989136588898" ||
		out.EncryptionType != types.EncryptionTypeNone {
		t.Errorf("output %+v", out)
	}
	in := svc.last().(*PutRecordInput)
	if !bytes.Equal(in.Data, data) || aws.ToString(in.PartitionKey) != "pk-ü" || aws.ToString(in.StreamName) != "orders" ||
		aws.ToString(in.ExplicitHashKey) != "170141183460469231731687303715884105728" {
		t.Errorf("decoded input %+v", in)
	}
	if in.StreamARN != nil || in.SequenceNumberForOrdering != nil {
		t.Errorf("absent members decoded as present: %+v", in)
	}
}

func TestSDKPutRecordsRoundTrip(t *testing.T) {
	client, svc := newSDKClient(t, func(op string, in Input) (any, *Error) {
		return &PutRecordsOutput{
			FailedRecordCount: aws.Int32(1),
			Records: []PutRecordsResultEntry{
				{SequenceNumber: aws.String("1"), ShardID: aws.String("shardId-000000000000")},
				{ErrorCode: aws.String(ErrProvisionedThroughputExceeded), ErrorMessage: aws.String("Rate exceeded for shard")},
			},
		}, nil
	})
	out, err := client.PutRecords(context.Background(), &sdk.PutRecordsInput{
		StreamARN: aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/orders"),
		Records: []types.PutRecordsRequestEntry{
			{Data: []byte("a"), PartitionKey: aws.String("1")},
			{Data: []byte{}, PartitionKey: aws.String("2")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.FailedRecordCount) != 1 || len(out.Records) != 2 ||
		aws.ToString(out.Records[0].SequenceNumber) != "1" || aws.ToString(out.Records[1].ErrorCode) != ErrProvisionedThroughputExceeded {
		t.Errorf("output %+v", out)
	}
	in := svc.last().(*PutRecordsInput)
	if len(in.Records) != 2 || string(in.Records[0].Data) != "a" || in.Records[1].Data == nil || len(in.Records[1].Data) != 0 {
		t.Errorf("decoded records %+v", in.Records)
	}
}

func TestSDKGetRecordsRoundTrip(t *testing.T) {
	arrival := time.Date(2024, 5, 6, 7, 8, 9, 123_000_000, time.UTC)
	client, svc := newSDKClient(t, func(op string, in Input) (any, *Error) {
		return &GetRecordsOutput{
			Records: []Record{
				{SequenceNumber: "1", ApproximateArrivalTimestamp: TimestampOf(arrival), Data: []byte{0, 0xfe, 'x'}, PartitionKey: "k"},
				{SequenceNumber: "2", ApproximateArrivalTimestamp: TimestampOf(arrival.Add(time.Second)), Data: nil, PartitionKey: "k2",
					EncryptionType: aws.String(EncryptionTypeKMS)},
			},
			NextShardIterator:  aws.String("AAAA"),
			MillisBehindLatest: aws.Int64(42),
			ChildShards: []ChildShard{{ShardID: "shardId-000000000002", ParentShards: []string{"shardId-000000000000"},
				HashKeyRange: HashKeyRange{StartingHashKey: "0", EndingHashKey: "340282366920938463463374607431768211455"}}},
		}, nil
	})
	out, err := client.GetRecords(context.Background(), &sdk.GetRecordsInput{ShardIterator: aws.String("it"), Limit: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 2 {
		t.Fatalf("records %+v", out.Records)
	}
	r := out.Records[0]
	if !bytes.Equal(r.Data, []byte{0, 0xfe, 'x'}) || !r.ApproximateArrivalTimestamp.Equal(arrival) || aws.ToString(r.PartitionKey) != "k" {
		t.Errorf("record 0: data %v time %v key %q", r.Data, r.ApproximateArrivalTimestamp, aws.ToString(r.PartitionKey))
	}
	if len(out.Records[1].Data) != 0 || out.Records[1].EncryptionType != types.EncryptionTypeKms {
		t.Errorf("record 1: %+v", out.Records[1])
	}
	if aws.ToString(out.NextShardIterator) != "AAAA" || aws.ToInt64(out.MillisBehindLatest) != 42 || len(out.ChildShards) != 1 ||
		aws.ToString(out.ChildShards[0].HashKeyRange.EndingHashKey) != "340282366920938463463374607431768211455" {
		t.Errorf("output %+v", out)
	}
	in := svc.last().(*GetRecordsInput)
	if aws.ToString(in.ShardIterator) != "it" || aws.ToInt32(in.Limit) != 10 {
		t.Errorf("decoded input %+v", in)
	}
}

func TestSDKDescribeStreamRoundTrip(t *testing.T) {
	created := time.Date(2023, 11, 14, 22, 13, 20, 500_000_000, time.UTC)
	client, _ := newSDKClient(t, func(op string, in Input) (any, *Error) {
		switch op {
		case OpDescribeStream:
			return &DescribeStreamOutput{StreamDescription: StreamDescription{
				StreamName: "orders", StreamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/orders", StreamStatus: StreamStatusActive,
				StreamModeDetails: &StreamModeDetails{StreamMode: aws.String(StreamModeProvisioned)},
				Shards: []Shard{{ShardID: "shardId-000000000000",
					HashKeyRange:        HashKeyRange{StartingHashKey: "0", EndingHashKey: "340282366920938463463374607431768211455"},
					SequenceNumberRange: SequenceNumberRange{StartingSequenceNumber: "4959"}}},
				RetentionPeriodHours: 24, StreamCreationTimestamp: NewTimestamp(created),
				EnhancedMonitoring: []EnhancedMetrics{{}}, EncryptionType: aws.String(EncryptionTypeNone),
			}}, nil
		case OpDescribeStreamSummary:
			return &DescribeStreamSummaryOutput{StreamDescriptionSummary: StreamDescriptionSummary{
				StreamName: "orders", StreamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/orders", StreamStatus: StreamStatusActive,
				RetentionPeriodHours: 48, StreamCreationTimestamp: NewTimestamp(created), OpenShardCount: 3,
				ConsumerCount: aws.Int32(0), MaxRecordSizeInKiB: aws.Int32(10240),
				WarmThroughput: &WarmThroughputObject{TargetMiBps: aws.Int32(100), CurrentMiBps: aws.Int32(10)},
			}}, nil
		}
		return nil, InternalFailure()
	})
	out, err := client.DescribeStream(context.Background(), &sdk.DescribeStreamInput{StreamName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	d := out.StreamDescription
	if aws.ToString(d.StreamName) != "orders" || d.StreamStatus != types.StreamStatusActive || !d.StreamCreationTimestamp.Equal(created) ||
		aws.ToBool(d.HasMoreShards) || aws.ToInt32(d.RetentionPeriodHours) != 24 || len(d.Shards) != 1 ||
		d.Shards[0].SequenceNumberRange.EndingSequenceNumber != nil || d.StreamModeDetails.StreamMode != types.StreamModeProvisioned ||
		len(d.EnhancedMonitoring) != 1 || len(d.EnhancedMonitoring[0].ShardLevelMetrics) != 0 {
		t.Errorf("description %+v", d)
	}
	sum, err := client.DescribeStreamSummary(context.Background(), &sdk.DescribeStreamSummaryInput{StreamName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	s := sum.StreamDescriptionSummary
	if aws.ToInt32(s.OpenShardCount) != 3 || aws.ToInt32(s.MaxRecordSizeInKiB) != 10240 || aws.ToInt32(s.WarmThroughput.TargetMiBps) != 100 ||
		!s.StreamCreationTimestamp.Equal(created) || s.KeyId != nil || s.StreamModeDetails != nil {
		t.Errorf("summary %+v", s)
	}
}

func TestSDKTimestampInputs(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	client, svc := newSDKClient(t, func(op string, in Input) (any, *Error) {
		switch op {
		case OpGetShardIterator:
			return &GetShardIteratorOutput{ShardIterator: aws.String("iter")}, nil
		case OpListShards:
			return &ListShardsOutput{}, nil
		}
		return nil, nil
	})
	out, err := client.GetShardIterator(context.Background(), &sdk.GetShardIteratorInput{
		StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(at),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ShardIterator) != "iter" {
		t.Errorf("iterator %q", aws.ToString(out.ShardIterator))
	}
	gsi := svc.last().(*GetShardIteratorInput)
	if gsi.Timestamp == nil || !gsi.Timestamp.Equal(at) || aws.ToString(gsi.ShardIteratorType) != ShardIteratorAtTimestamp {
		t.Errorf("decoded %+v", gsi)
	}

	ls, err := client.ListShards(context.Background(), &sdk.ListShardsInput{
		StreamName: aws.String("s"), StreamCreationTimestamp: aws.Time(at),
		ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: aws.Time(at)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ls.Shards == nil || len(ls.Shards) != 0 {
		t.Errorf("shards %v, want empty non-nil", ls.Shards)
	}
	lsi := svc.last().(*ListShardsInput)
	if !lsi.StreamCreationTimestamp.Equal(at) || !lsi.ShardFilter.Timestamp.Equal(at) || aws.ToString(lsi.ShardFilter.Type) != ShardFilterFromTimestamp {
		t.Errorf("decoded %+v", lsi)
	}
}

func TestSDKControlPlaneRoundTrip(t *testing.T) {
	created := time.Date(2022, 2, 2, 2, 2, 2, 0, time.UTC)
	client, svc := newSDKClient(t, func(op string, in Input) (any, *Error) {
		switch op {
		case OpListStreams:
			return &ListStreamsOutput{StreamNames: []string{"a"}, HasMoreStreams: true, NextToken: aws.String("t"),
				StreamSummaries: []StreamSummary{{StreamName: "a", StreamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/a",
					StreamStatus: StreamStatusCreating, StreamCreationTimestamp: TimestampOf(created)}}}, nil
		case OpListTagsForStream:
			return &ListTagsForStreamOutput{Tags: []Tag{{Key: "k", Value: aws.String("v")}, {Key: "novalue"}}}, nil
		case OpRegisterStreamConsumer:
			return &RegisterStreamConsumerOutput{Consumer: Consumer{ConsumerName: "c",
				ConsumerARN:    "arn:aws:kinesis:us-east-1:123456789012:stream/a/consumer/c:1",
				ConsumerStatus: ConsumerStatusCreating, ConsumerCreationTimestamp: NewTimestamp(created)}}, nil
		case OpDescribeLimits:
			return &DescribeLimitsOutput{ShardLimit: 500, OpenShardCount: 2, OnDemandStreamCount: 1, OnDemandStreamCountLimit: 50}, nil
		case OpUpdateShardCount:
			return &UpdateShardCountOutput{StreamName: aws.String("a"), CurrentShardCount: aws.Int32(1), TargetShardCount: aws.Int32(2)}, nil
		case OpEnableEnhancedMonitoring:
			return &EnhancedMonitoringOutput{StreamName: aws.String("a"), DesiredShardLevelMetrics: []string{MetricIncomingBytes}}, nil
		case OpDescribeAccountSettings:
			return &DescribeAccountSettingsOutput{MinimumThroughputBillingCommitment: &MinimumThroughputBillingCommitmentOutput{
				Status: CommitmentEnabled, StartedAt: TimestampOf(created)}}, nil
		}
		return nil, nil
	})
	ctx := context.Background()

	ls, err := client.ListStreams(ctx, &sdk.ListStreamsInput{Limit: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ls.StreamNames, []string{"a"}) || !aws.ToBool(ls.HasMoreStreams) || len(ls.StreamSummaries) != 1 ||
		!ls.StreamSummaries[0].StreamCreationTimestamp.Equal(created) {
		t.Errorf("ListStreams %+v", ls)
	}

	if _, err := client.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("a"), ShardCount: aws.Int32(2),
		Tags: map[string]string{"team": "x"}, StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned}}); err != nil {
		t.Fatal(err)
	}
	cs := svc.last().(*CreateStreamInput)
	if aws.ToInt32(cs.ShardCount) != 2 || cs.Tags["team"] != "x" || aws.ToString(cs.StreamModeDetails.StreamMode) != StreamModeProvisioned {
		t.Errorf("CreateStream decoded %+v", cs)
	}

	tags, err := client.ListTagsForStream(ctx, &sdk.ListTagsForStreamInput{StreamName: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 2 || aws.ToString(tags.Tags[0].Value) != "v" || tags.Tags[1].Value != nil || aws.ToBool(tags.HasMoreTags) {
		t.Errorf("ListTagsForStream %+v", tags)
	}

	reg, err := client.RegisterStreamConsumer(ctx, &sdk.RegisterStreamConsumerInput{
		StreamARN: aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/a"), ConsumerName: aws.String("c")})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Consumer.ConsumerStatus != types.ConsumerStatusCreating || !reg.Consumer.ConsumerCreationTimestamp.Equal(created) {
		t.Errorf("RegisterStreamConsumer %+v", reg.Consumer)
	}

	lim, err := client.DescribeLimits(ctx, &sdk.DescribeLimitsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(lim.ShardLimit) != 500 || aws.ToInt32(lim.OnDemandStreamCountLimit) != 50 {
		t.Errorf("DescribeLimits %+v", lim)
	}

	usc, err := client.UpdateShardCount(ctx, &sdk.UpdateShardCountInput{StreamName: aws.String("a"), TargetShardCount: aws.Int32(2),
		ScalingType: types.ScalingTypeUniformScaling})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(usc.TargetShardCount) != 2 || usc.StreamARN != nil {
		t.Errorf("UpdateShardCount %+v", usc)
	}

	em, err := client.EnableEnhancedMonitoring(ctx, &sdk.EnableEnhancedMonitoringInput{StreamName: aws.String("a"),
		ShardLevelMetrics: []types.MetricsName{types.MetricsNameIncomingBytes}})
	if err != nil {
		t.Fatal(err)
	}
	if em.CurrentShardLevelMetrics == nil || len(em.CurrentShardLevelMetrics) != 0 ||
		!slices.Equal(em.DesiredShardLevelMetrics, []types.MetricsName{types.MetricsNameIncomingBytes}) {
		t.Errorf("EnableEnhancedMonitoring %+v", em)
	}

	as, err := client.DescribeAccountSettings(ctx, &sdk.DescribeAccountSettingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if as.MinimumThroughputBillingCommitment.Status != types.MinimumThroughputBillingCommitmentOutputStatusEnabled ||
		!as.MinimumThroughputBillingCommitment.StartedAt.Equal(created) || as.MinimumThroughputBillingCommitment.EndedAt != nil {
		t.Errorf("DescribeAccountSettings %+v", as.MinimumThroughputBillingCommitment)
	}

	if _, err := client.UpdateMaxRecordSize(ctx, &sdk.UpdateMaxRecordSizeInput{
		StreamARN: aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/a"), MaxRecordSizeInKiB: aws.Int32(2048)}); err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt32(svc.last().(*UpdateMaxRecordSizeInput).MaxRecordSizeInKiB); got != 2048 {
		t.Errorf("UpdateMaxRecordSize decoded %d", got)
	}
}

func TestSDKValidationErrorReachesClient(t *testing.T) {
	client, _ := newSDKClient(t, nil)
	// The Go SDK only checks required members; everything else reaches
	// the service, which must answer in AWS's words.
	_, err := client.DescribeStreamSummary(context.Background(), &sdk.DescribeStreamSummaryInput{StreamName: aws.String("x y")})
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a ValidationException", err)
	}
	want := "1 validation error detected: Value 'x y' at 'streamName' failed to satisfy constraint: " +
		"Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
	if ve.ErrorMessage() != want {
		t.Errorf("message %q, want %q", ve.ErrorMessage(), want)
	}
}

package server

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/sdkhttp"
)

// TestSubscribeToShardSigned: SubscribeToShard over HTTP/2 (prior
// knowledge, as the SDK speaks to AWS over TLS) is verified like any
// request: the right secret gets the record pushed, a wrong one AWS's
// InvalidSignatureException and no event stream.
func TestSubscribeToShardSigned(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ts := startVerifyingKinesis(t, nil)
	h2 := func(secret string) *awskinesis.Client {
		return awskinesis.New(awskinesis.Options{
			Region:           "us-east-1",
			Credentials:      credentials.NewStaticCredentialsProvider(aliceKey, secret, ""),
			BaseEndpoint:     aws.String(ts.url),
			RetryMaxAttempts: 1,
			HTTPClient:       sdkhttp.Wrap(xnetPriorKnowledgeClient()),
		})
	}
	good := h2(aliceSecret)
	if _, err := good.CreateStream(ctx, &awskinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:kinesis:us-east-1:111111111111:stream/s"
	reg, err := good.RegisterStreamConsumer(ctx, &awskinesis.RegisterStreamConsumerInput{StreamARN: aws.String(arn), ConsumerName: aws.String("c")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.PutRecord(ctx, &awskinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("pushed")}); err != nil {
		t.Fatal(err)
	}
	in := &awskinesis.SubscribeToShardInput{ConsumerARN: reg.Consumer.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}}

	_, err = h2("wrong-secret").SubscribeToShard(ctx, in)
	wantAPIError(t, err, "InvalidSignatureException", msgSignatureMismatch, 400)

	out, err := good.SubscribeToShard(ctx, in)
	if err != nil {
		t.Fatalf("SubscribeToShard: %v", err)
	}
	es := out.GetStream()
	defer es.Close()
	for ev := range es.Events() {
		e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !ok {
			continue
		}
		if len(e.Value.Records) == 0 {
			continue
		}
		if string(e.Value.Records[0].Data) != "pushed" {
			t.Fatalf("pushed %q", e.Value.Records[0].Data)
		}
		return
	}
	t.Fatalf("event stream ended without the record: %v", es.Err())
}

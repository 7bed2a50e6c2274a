package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"golang.org/x/net/http2"

	"github.com/tributary-io/tributary/sdkhttp"
)

// startServerAddr runs a server with cfg's delays at zero and returns its
// address; it stops with the test.
func startServerAddr(t *testing.T, adjust func(*serveConfig)) string {
	t.Helper()
	addr, _ := startServerLogs(t, adjust)
	return addr
}

// startServerLogs is startServerAddr, also returning the server's log.
func startServerLogs(t *testing.T, adjust func(*serveConfig)) (string, *syncBuffer) {
	t.Helper()
	addr, logs, _ := runTestServer(t, nil, adjust)
	return addr, logs
}

// transports are the HTTP clients SubscribeToShard is tested over: the
// default one, which speaks HTTP/1.1 to an http:// endpoint, and HTTP/2
// with prior knowledge (h2c), which is how the SDK talks to AWS over TLS.
var transports = []struct {
	name   string
	client func() *http.Client
}{
	{"http1", func() *http.Client { return &http.Client{Transport: &http.Transport{}} }},
	{"h2c", func() *http.Client {
		return &http.Client{Transport: &http2.Transport{
			AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
		}}
	}},
}

// newClient is testClient over hc (sdkhttp's default client when nil).
func newClient(addr string, hc *http.Client) *sdk.Client {
	if hc == nil {
		return testClient(addr)
	}
	return sdk.New(sdk.Options{
		BaseEndpoint: aws.String("http://" + addr),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   sdkhttp.Wrap(hc),
		Retryer:      aws.NopRetryer{},
	})
}

// registerActive registers a consumer and waits until it is ACTIVE.
func registerActive(t *testing.T, ctx context.Context, c *sdk.Client, streamARN, name string) *types.Consumer {
	t.Helper()
	out, err := c.RegisterStreamConsumer(ctx, &sdk.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN), ConsumerName: aws.String(name)})
	if err != nil {
		t.Fatalf("RegisterStreamConsumer: %v", err)
	}
	for {
		d, err := c.DescribeStreamConsumer(ctx, &sdk.DescribeStreamConsumerInput{ConsumerARN: out.Consumer.ConsumerARN})
		if err != nil {
			t.Fatalf("DescribeStreamConsumer: %v", err)
		}
		if d.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
			return out.Consumer
		}
		select {
		case <-ctx.Done():
			t.Fatalf("consumer %s not ACTIVE: %v", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func streamARN(name string) string {
	return "arn:aws:kinesis:us-east-1:" + testAccount + ":stream/" + name
}

func TestSDKConsumers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := newClient(startServerAddr(t, nil), nil)
	createActive(t, ctx, c, "s")
	arn := streamARN("s")

	before := time.Now().Truncate(time.Second)
	cons := registerActive(t, ctx, c, arn, "app")
	after := time.Now()
	got := aws.ToString(cons.ConsumerARN)
	epoch, ok := strings.CutPrefix(got, arn+"/consumer/app:")
	if !ok || epoch == "" {
		t.Fatalf("ConsumerARN %s, want %s/consumer/app:EPOCH", got, arn)
	}
	if ts := aws.ToTime(cons.ConsumerCreationTimestamp); ts.Before(before) || ts.After(after) || fmt.Sprint(ts.Unix()) != epoch {
		t.Errorf("ConsumerCreationTimestamp %v, ARN epoch %s", ts, epoch)
	}

	d, err := c.DescribeStreamConsumer(ctx, &sdk.DescribeStreamConsumerInput{StreamARN: aws.String(arn), ConsumerName: aws.String("app")})
	if err != nil {
		t.Fatalf("DescribeStreamConsumer by name: %v", err)
	}
	if aws.ToString(d.ConsumerDescription.ConsumerARN) != got || aws.ToString(d.ConsumerDescription.StreamARN) != arn {
		t.Errorf("described %+v", d.ConsumerDescription)
	}
	registerActive(t, ctx, c, arn, "other")

	var names []string
	p := sdk.NewListStreamConsumersPaginator(c, &sdk.ListStreamConsumersInput{StreamARN: aws.String(arn), MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListStreamConsumers: %v", err)
		}
		for _, c := range page.Consumers {
			names = append(names, aws.ToString(c.ConsumerName))
		}
	}
	if fmt.Sprint(names) != "[app other]" {
		t.Errorf("listed %v, want [app other]", names)
	}
	sum, err := c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamName: aws.String("s")})
	if err != nil || aws.ToInt32(sum.StreamDescriptionSummary.ConsumerCount) != 2 {
		t.Errorf("DescribeStreamSummary: %v; want ConsumerCount 2", err)
	}

	_, err = c.DeleteStream(ctx, &sdk.DeleteStreamInput{StreamName: aws.String("s")})
	wantAPIError(t, err, "ResourceInUseException", "DeleteStream can't delete "+testAccount+":s because there are consumers associated with this data stream. To delete s anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that are associated with it.")

	if _, err := c.DeregisterStreamConsumer(ctx, &sdk.DeregisterStreamConsumerInput{ConsumerARN: aws.String(got)}); err != nil {
		t.Fatalf("DeregisterStreamConsumer: %v", err)
	}
	_, err = c.DescribeStreamConsumer(ctx, &sdk.DescribeStreamConsumerInput{ConsumerARN: aws.String(got)})
	wantAPIError(t, err, "ResourceNotFoundException", "Consumer app under stream s and account "+testAccount+" not found.")

	if _, err := c.DeleteStream(ctx, &sdk.DeleteStreamInput{StreamName: aws.String("s"), EnforceConsumerDeletion: aws.Bool(true)}); err != nil {
		t.Fatalf("DeleteStream with EnforceConsumerDeletion: %v", err)
	}
}

// session reads a subscription's events on a goroutine.
type session struct {
	out    *sdk.SubscribeToShardOutput
	events chan *types.SubscribeToShardEvent
}

func subscribe(t *testing.T, ctx context.Context, c *sdk.Client, consumerARN string, pos *types.StartingPosition) *session {
	t.Helper()
	s, err := trySubscribe(t, ctx, c, consumerARN, pos)
	if err != nil {
		t.Fatalf("SubscribeToShard: %v", err)
	}
	return s
}

func trySubscribe(t *testing.T, ctx context.Context, c *sdk.Client, consumerARN string, pos *types.StartingPosition) (*session, error) {
	out, err := c.SubscribeToShard(ctx, &sdk.SubscribeToShardInput{
		ConsumerARN: aws.String(consumerARN), ShardId: aws.String("shardId-000000000000"), StartingPosition: pos,
	})
	if err != nil {
		return nil, err
	}
	es := out.GetStream()
	t.Cleanup(func() { es.Close() })
	s := &session{out: out, events: make(chan *types.SubscribeToShardEvent)}
	go func() {
		defer close(s.events)
		for ev := range es.Events() {
			if v, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); ok {
				s.events <- &v.Value
			}
		}
	}()
	return s, nil
}

// collect reads events until n records came, returning them and the last
// event's continuation.
func (s *session) collect(t *testing.T, ctx context.Context, n int) ([]string, string) {
	t.Helper()
	var datas []string
	cont := ""
	for len(datas) < n {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended after %d of %d records: %v", len(datas), n, s.out.GetStream().Err())
			}
			for _, r := range ev.Records {
				datas = append(datas, string(r.Data))
			}
			cont = aws.ToString(ev.ContinuationSequenceNumber)
		case <-ctx.Done():
			t.Fatalf("%d of %d records: %v", len(datas), n, ctx.Err())
		}
	}
	return datas, cont
}

func numbered(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("r%d", i))
	}
	return out
}

func TestSDKSubscribeToShard(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// A deregistered consumer is DELETING for a while, as on AWS,
			// so that the session's end below is AWS's answer whenever the
			// session notices it; with no delay the consumer can be gone
			// before its session is ended, which a loaded machine showed.
			c := newClient(startServerAddr(t, func(cfg *serveConfig) { cfg.DeleteDelay = 5 * time.Second }), tr.client())
			createActive(t, ctx, c, "s")
			cons := aws.ToString(registerActive(t, ctx, c, streamARN("s"), "app").ConsumerARN)

			putNumbered(t, ctx, c, "s", 0, 5)
			s := subscribe(t, ctx, c, cons, &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
			// Records written during the session arrive, in order, once.
			go func() {
				for i := 5; i < 30; i++ {
					_, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte(fmt.Sprintf("r%d", i))})
					if err != nil {
						t.Errorf("PutRecord: %v", err)
						return
					}
				}
			}()
			got, cont := s.collect(t, ctx, 30)
			if want := numbered(0, 30); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("records %v\nwant %v", got, want)
			}

			// A second session within 5 s of the first is refused.
			_, err := c.SubscribeToShard(ctx, &sdk.SubscribeToShardInput{
				ConsumerARN: aws.String(cons), ShardId: aws.String("shardId-000000000000"),
				StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest},
			})
			wantAPIError(t, err, "ResourceInUseException", "Another active subscription exists for this consumer: "+testAccount+":s:shardId-000000000000:app")

			// Once the first session is closed, a new one continues from its
			// ContinuationSequenceNumber with no gap and no duplicate.
			s.out.GetStream().Close()
			putNumbered(t, ctx, c, "s", 30, 35)
			var s2 *session
			for s2 == nil {
				s2, err = trySubscribe(t, ctx, c, cons, &types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(cont)})
				var ae smithy.APIError
				if errors.As(err, &ae) && (ae.ErrorCode() == "ResourceInUseException" || ae.ErrorCode() == "LimitExceededException") {
					// The server has not yet seen the first session's end,
					// or it is within a second of the last call (limits aws).
					time.Sleep(20 * time.Millisecond)
					continue
				}
				if err != nil {
					t.Fatalf("SubscribeToShard after the first session: %v", err)
				}
			}
			got, _ = s2.collect(t, ctx, 5)
			if want := numbered(30, 35); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("second session records %v, want %v", got, want)
			}

			// Deregistering the consumer ends the session with AWS's error.
			if _, err := c.DeregisterStreamConsumer(ctx, &sdk.DeregisterStreamConsumerInput{ConsumerARN: aws.String(cons)}); err != nil {
				t.Fatalf("DeregisterStreamConsumer: %v", err)
			}
			for range s2.events {
			}
			var ae smithy.APIError
			if err := s2.out.GetStream().Err(); !errors.As(err, &ae) || ae.ErrorCode() != "ResourceInUseException" ||
				!strings.HasPrefix(ae.ErrorMessage(), "Consumer app with creation timestamp ") || !strings.HasSuffix(ae.ErrorMessage(), " under stream s and account "+testAccount+" is not in ACTIVE status.") {
				t.Errorf("stream error after deregistration: %v", err)
			}
		})
	}
}

func TestSDKSubscribeToShardSplit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := newClient(startServerAddr(t, nil), transports[1].client())
	createActive(t, ctx, c, "s")
	cons := aws.ToString(registerActive(t, ctx, c, streamARN("s"), "app").ConsumerARN)
	s := subscribe(t, ctx, c, cons, &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	putNumbered(t, ctx, c, "s", 0, 3)
	if _, err := c.SplitShard(ctx, &sdk.SplitShardInput{
		StreamName: aws.String("s"), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("170141183460469231731687303715884105728"),
	}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	var got []string
	var children []string
	for ev := range s.events {
		for _, r := range ev.Records {
			got = append(got, string(r.Data))
		}
		for _, ch := range ev.ChildShards {
			children = append(children, aws.ToString(ch.ShardId)+"<"+strings.Join(ch.ParentShards, ","))
		}
		if len(ev.ChildShards) > 0 && ev.ContinuationSequenceNumber != nil {
			t.Errorf("last event has ContinuationSequenceNumber %s", aws.ToString(ev.ContinuationSequenceNumber))
		}
	}
	if err := s.out.GetStream().Err(); err != nil {
		t.Errorf("stream error: %v", err)
	}
	if want := numbered(0, 3); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("records %v, want %v", got, want)
	}
	if want := "[shardId-000000000001<shardId-000000000000 shardId-000000000002<shardId-000000000000]"; fmt.Sprint(children) != want {
		t.Errorf("ChildShards %v, want %s", children, want)
	}
}

// TestSDKConsumerTags: the Tags given to RegisterStreamConsumer are listed
// by ListTagsForResource on the consumer's ARN, and TagResource and
// UntagResource change them.
func TestSDKConsumerTags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := newClient(startServerAddr(t, nil), nil)
	createActive(t, ctx, c, "s")
	reg, err := c.RegisterStreamConsumer(ctx, &sdk.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("s")),
		ConsumerName: aws.String("app"), Tags: map[string]string{"team": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := reg.Consumer.ConsumerARN
	if _, err := c.TagResource(ctx, &sdk.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"env": "dev", "x": "y"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &sdk.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagString(out.Tags); got != "env=dev team=a" {
		t.Errorf("consumer tags %s, want env=dev team=a", got)
	}
}

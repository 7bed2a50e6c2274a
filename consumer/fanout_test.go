package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/schemas"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/producer"
	"github.com/tributary-io/tributary/stream"
)

// watchedClient is a worker's client that notes the fan-out calls it
// passes on.
type watchedClient struct {
	*kinesis.Client

	mu sync.Mutex
	// subscribes are the starting positions of the SubscribeToShard
	// calls, by shard; refused the codes of those that failed.
	subscribes map[string][]types.ShardIteratorType
	refused    []string
	registers  int
}

func watch(kc *kinesis.Client) *watchedClient {
	return &watchedClient{Client: kc, subscribes: map[string][]types.ShardIteratorType{}}
}

func (c *watchedClient) SubscribeToShard(ctx context.Context, in *kinesis.SubscribeToShardInput, optFns ...func(*kinesis.Options)) (*kinesis.SubscribeToShardOutput, error) {
	out, err := c.Client.SubscribeToShard(ctx, in, optFns...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subscribes[aws.ToString(in.ShardId)] = append(c.subscribes[aws.ToString(in.ShardId)], in.StartingPosition.Type)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		c.refused = append(c.refused, ae.ErrorCode()+": "+ae.ErrorMessage())
	}
	return out, err
}

func (c *watchedClient) RegisterStreamConsumer(ctx context.Context, in *kinesis.RegisterStreamConsumerInput, optFns ...func(*kinesis.Options)) (*kinesis.RegisterStreamConsumerOutput, error) {
	c.mu.Lock()
	c.registers++
	c.mu.Unlock()
	return c.Client.RegisterStreamConsumer(ctx, in, optFns...)
}

// after counts, for each shard, the SubscribeToShard calls that started
// after a sequence number (sessions after the first).
func (c *watchedClient) after() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := map[string]int{}
	for shard, tys := range c.subscribes {
		for _, ty := range tys {
			if ty == types.ShardIteratorTypeAfterSequenceNumber {
				n[shard]++
			}
		}
	}
	return n
}

func fanOut(c *consumer.Config) { c.FanOut = "app" }

// ownCodec gives a SubscribeToShard call a protocol of its own, as the
// worker does: smithy-go shares one event stream codec among a client's
// sessions, unsynchronised (aws/smithy-go#714).
func ownCodec(o *kinesis.Options) { o.Protocol = awsjson.New11(schemas.Kinesis_20131202) }

// feeder puts numbered records for keys in the background.
type feeder struct {
	t    *testing.T
	p    *producer.Producer
	keys int
}

func newFeeder(t *testing.T, kc *kinesis.Client, keys int) *feeder {
	t.Helper()
	p, err := producer.New(context.Background(), producer.Config{Stream: "s", Client: kc, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &feeder{t: t, p: p, keys: keys}
}

// put puts records from to to of every key, pausing between rounds.
func (f *feeder) put(from, to int, pause time.Duration) {
	ctx := context.Background()
	for n := from; n < to; n++ {
		for k := range f.keys {
			if _, err := f.p.Put(ctx, producer.Record{PartitionKey: fmt.Sprint("key-", k), Data: fmt.Appendf(nil, "key-%d:%d", k, n)}); err != nil {
				f.t.Error(err)
				return
			}
		}
		if err := f.p.Flush(ctx); err != nil {
			f.t.Error(err)
			return
		}
		time.Sleep(pause)
	}
}

func createStream(t *testing.T, kc *kinesis.Client, shards int32) {
	t.Helper()
	ctx := context.Background()
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stream ACTIVE", func() bool {
		out, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive
	})
}

// TestFanOutResubscribes: while records flow, sessions end every 150 ms and
// 30 of them are dropped at once (faults: drop_subscription); each new
// session starts after the last record received, so every record is
// processed once, in order.
func TestFanOutResubscribes(t *testing.T) {
	const keys, perKey = 100, 60
	inj := faults.New(1)
	kc := inproc.Start(t, inproc.Options{HTTP2: true, Faults: inj,
		Stream: stream.Options{SubscriptionLifetime: 150 * time.Millisecond, SubscriptionHeartbeat: 50 * time.Millisecond}})
	createStream(t, kc, 4)
	wc := watch(kc)
	c := &collector{}
	startWorker(t, wc, consumer.NewMemoryLeaseStore(), c, "a", fanOut)
	f := newFeeder(t, kc, keys)

	f.put(0, perKey/3, 10*time.Millisecond)
	waitFor(t, "the first third processed", func() bool { return c.count() >= keys*perKey/3 })
	if _, err := inj.Add(faults.Rule{Operation: "SubscribeToShard", Stream: "s", Effect: faults.EffectDropSubscription, Count: 30}); err != nil {
		t.Fatal(err)
	}
	f.put(perKey/3, perKey, 20*time.Millisecond)
	waitFor(t, "every record processed", func() bool {
		_, missing, _ := c.check(keys, perKey)
		return missing == 0
	})
	waitFor(t, "the 30 sessions dropped", func() bool { return len(inj.List()) == 0 })
	time.Sleep(300 * time.Millisecond) // for any record delivered twice to show

	dups, missing, outOfOrder := c.check(keys, perKey)
	if dups != 0 || missing != 0 || outOfOrder != 0 {
		t.Errorf("%d records processed twice, %d never, %d keys out of order; want none", dups, missing, outOfOrder)
	}
	after := wc.after()
	t.Logf("sessions started after a sequence number, by shard: %v", after)
	for i := range 4 {
		shard := fmt.Sprintf("shardId-%012d", i)
		if after[shard] < 5 {
			t.Errorf("%s: %d sessions after the first, want several (sessions last 150 ms)", shard, after[shard])
		}
	}
}

// TestFanOutLatest: an application starting at LATEST keeps its place
// across sessions before any record came (from the events' continuation
// numbers), so records put while no session is open (half the sessions
// are dropped, and the next waits) are processed too.
func TestFanOutLatest(t *testing.T) {
	const keys, perKey = 20, 100
	inj := faults.New(1)
	kc := inproc.Start(t, inproc.Options{HTTP2: true, Faults: inj,
		Stream: stream.Options{SubscriptionLifetime: 100 * time.Millisecond, SubscriptionHeartbeat: 20 * time.Millisecond}})
	createStream(t, kc, 2)
	wc := watch(kc)
	c := &collector{}
	startWorker(t, wc, consumer.NewMemoryLeaseStore(), c, "a", func(cfg *consumer.Config) {
		cfg.FanOut, cfg.InitialPosition, cfg.RetryDelay = "app", consumer.Latest, 50*time.Millisecond
	})
	// Once a shard's session started after a continuation number, the
	// first event fixed the position LATEST stood for.
	waitFor(t, "sessions after the first event", func() bool {
		a := wc.after()
		return a["shardId-000000000000"] > 0 && a["shardId-000000000001"] > 0
	})
	if _, err := inj.Add(faults.Rule{Operation: "SubscribeToShard", Stream: "s", Effect: faults.EffectDropSubscription, Probability: 0.5}); err != nil {
		t.Fatal(err)
	}
	newFeeder(t, kc, keys).put(0, perKey, 5*time.Millisecond)
	waitFor(t, "every record processed", func() bool {
		_, missing, _ := c.check(keys, perKey)
		return missing == 0
	})
	dups, missing, outOfOrder := c.check(keys, perKey)
	if dups != 0 || missing != 0 || outOfOrder != 0 {
		t.Errorf("%d records processed twice, %d never, %d keys out of order; want none", dups, missing, outOfOrder)
	}
}

// TestFanOutRegistersOnce: four workers start at once while consumers take
// 300 ms to become ACTIVE; each that reads registers once (not once per
// shard), one registration succeeds, the others find the consumer, and
// none subscribes before it is ACTIVE.
func TestFanOutRegistersOnce(t *testing.T) {
	const keys, perKey = 100, 10
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{HTTP2: true, Stream: stream.Options{CreateDelay: 300 * time.Millisecond}})
	createStream(t, kc, 4)
	store := consumer.NewMemoryLeaseStore()
	c := &collector{}
	var clients []*watchedClient
	var workers []*testWorker
	for i := range 4 {
		wc := watch(kc)
		clients = append(clients, wc)
		workers = append(workers, startWorker(t, wc, store, c, fmt.Sprint("w", i), fanOut))
	}
	newFeeder(t, kc, keys).put(0, perKey, 0)
	waitFor(t, "every record processed", func() bool {
		_, missing, _ := c.check(keys, perKey)
		return missing == 0
	})
	time.Sleep(200 * time.Millisecond) // every shard subscribed

	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/s"
	out, err := kc.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Consumers) != 1 || aws.ToString(out.Consumers[0].ConsumerName) != "app" || out.Consumers[0].ConsumerStatus != types.ConsumerStatusActive {
		t.Fatalf("consumers %+v, want app alone, ACTIVE", out.Consumers)
	}
	registered := 0
	for i, wc := range clients {
		// A worker registers when it starts a shard: the workers may
		// settle at 2, 2, 0 and 0 shards (a worker holding none is not
		// counted in the even share), and the first may hold all four
		// before handing them over.
		held := len(workers[i].w.Held())
		wc.mu.Lock()
		if wc.registers > 1 || (held > 0 && wc.registers != 1) {
			t.Errorf("worker w%d (holding %d leases) called RegisterStreamConsumer %d times, want once", i, held, wc.registers)
		}
		registered += wc.registers
		if len(wc.refused) != 0 {
			t.Errorf("worker w%d: SubscribeToShard refused: %v", i, wc.refused)
		}
		wc.mu.Unlock()
	}
	if registered < 2 {
		t.Errorf("%d workers registered, want several at once", registered)
	}
	dups, missing, outOfOrder := c.check(keys, perKey)
	t.Logf("%d records processed twice (lease moves between workers as they start)", dups)
	if missing != 0 || outOfOrder != 0 {
		t.Errorf("%d records never processed, %d keys out of order; want none", missing, outOfOrder)
	}
}

// slowShutdown is a collectorProc whose ShutdownRequested takes a while.
type slowShutdown struct {
	collectorProc
	d time.Duration
}

func (p *slowShutdown) ShutdownRequested(ctx context.Context, cp consumer.Checkpointer) error {
	time.Sleep(p.d)
	return p.collectorProc.ShutdownRequested(ctx, cp)
}

// TestFanOutStop: a worker waiting for events (heartbeats 10 s apart)
// stops at once, and closes its sessions before its processors shut down
// (which takes them a second): meanwhile the same consumer subscribes to
// the shards again, where an open session would refuse it
// (ResourceInUseException) for 5 s.
func TestFanOutStop(t *testing.T) {
	const slow = time.Second
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{HTTP2: true, Stream: stream.Options{SubscriptionLifetime: time.Minute, SubscriptionHeartbeat: 10 * time.Second}})
	createStream(t, kc, 2)
	wc := watch(kc)
	c := &collector{}
	tw := startWorker(t, wc, consumer.NewMemoryLeaseStore(), c, "a", func(cfg *consumer.Config) {
		cfg.FanOut = "app"
		cfg.NewProcessor = func(string) consumer.Processor { return &slowShutdown{collectorProc{c: c}, slow} }
	})
	newFeeder(t, kc, 10).put(0, 1, 0)
	waitFor(t, "the records processed", func() bool { return c.count() == 10 })
	wc.mu.Lock()
	refused := len(wc.refused)
	wc.mu.Unlock()
	if refused != 0 {
		t.Fatalf("SubscribeToShard refused: %v", wc.refused)
	}

	start := time.Now()
	tw.cancel()
	d, err := kc.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s"), ConsumerName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		in := &kinesis.SubscribeToShardInput{ConsumerARN: d.ConsumerDescription.ConsumerARN, ShardId: aws.String(fmt.Sprintf("shardId-%012d", i)),
			StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}}
		for {
			out, err := kc.SubscribeToShard(ctx, in, ownCodec)
			if err == nil {
				out.GetStream().Close()
				break
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceInUseException" || time.Since(start) > slow {
				t.Fatalf("SubscribeToShard %s %v after the worker was told to stop: %v", aws.ToString(in.ShardId), time.Since(start).Round(time.Millisecond), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if took := time.Since(start); took > slow {
		t.Errorf("subscribed again %v after the stop, want before the processors shut down (%v)", took, slow)
	}
	<-tw.done
	if took := time.Since(start); took > slow+time.Second {
		t.Errorf("the worker took %v to stop, want about %v, well under the 10 s between heartbeats", took, slow)
	}
}

// TestFanOutConsumerDeregistered: the consumer deregistered under the
// workers is registered again, and reading goes on where it got to.
func TestFanOutConsumerDeregistered(t *testing.T) {
	const keys, perKey = 50, 20
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{HTTP2: true, Stream: stream.Options{SubscriptionLifetime: time.Minute, SubscriptionHeartbeat: 100 * time.Millisecond}})
	createStream(t, kc, 2)
	c := &collector{}
	startWorker(t, kc, consumer.NewMemoryLeaseStore(), c, "a", fanOut)
	f := newFeeder(t, kc, keys)
	f.put(0, perKey/2, 0)
	waitFor(t, "the first half processed", func() bool { return c.count() >= keys*perKey/2 })

	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")
	d, err := kc.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	old := aws.ToString(d.ConsumerDescription.ConsumerARN)
	if _, err := kc.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(old)}); err != nil {
		t.Fatal(err)
	}
	// A consumer's ARN ends in its creation time in seconds: the next
	// one must differ.
	time.Sleep(time.Until(aws.ToTime(d.ConsumerDescription.ConsumerCreationTimestamp).Add(1100 * time.Millisecond)))
	f.put(perKey/2, perKey, 0)
	waitFor(t, "every record processed", func() bool {
		_, missing, _ := c.check(keys, perKey)
		return missing == 0
	})
	dups, missing, outOfOrder := c.check(keys, perKey)
	if dups != 0 || missing != 0 || outOfOrder != 0 {
		t.Errorf("%d records processed twice, %d never, %d keys out of order; want none", dups, missing, outOfOrder)
	}
	out, err := kc.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Consumers) != 1 || aws.ToString(out.Consumers[0].ConsumerName) != "app" || aws.ToString(out.Consumers[0].ConsumerARN) == old {
		t.Errorf("consumers %+v, want app registered again (not %s)", out.Consumers, old)
	}
}

package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/internal/cli"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// The soak workload: a mixed life against one endpoint for --duration,
// with several actors at once, then checks. It is how the server is meant
// to be used for hours, compressed: streams with shards that never get a
// record, splits and merges of shards with and without data,
// UpdateShardCount up and down, an on-demand stream scaling itself up and
// down, retention raised and lowered, consumers whose SubscribeToShard
// sessions end and are resumed, polling readers that follow shard lineage
// and pause past their iterators' lifetime, and streams deleted under
// their writers and readers and created again. Every actor is an ordinary
// client (aws-sdk-go-v2); the checks are what such clients would notice:
// a record acknowledged and never read, read twice or out of order, a
// server that died, leaked or panicked.
//
// The streams:
//
//   - "sparse": 4 shards, written only with explicit hash keys in the lower
//     half of the key space, so the upper half's shards stay empty through
//     every reshard; a control actor cycles through splits and merges of
//     empty and non-empty shards, UpdateShardCount up and down and
//     retention up and down. Its polling readers pause past the iterator
//     lifetime.
//   - "ondemand": ON_DEMAND, with a steady writer and a hot writer that is
//     switched on until the scaler splits a shard and off until it merges
//     back.
//   - "churn": 2 shards, deleted every --duration/5 (5 s to 1 min) while
//     its writer, readers and subscriber are busy, and created again
//     under the same name.
//
// Each stream has a polling reader group and a consumer (enhanced
// fan-out); both must read every acknowledged record of the streams that
// live to the end.

const (
	soakRecordSize = 100
	// soakConns is the connections the soak holds at once, give or take:
	// a reader and a subscription per open shard, writers, control.
	soakConns = 48
	// soakProgressEvery is the time between progress lines: a soak runs
	// for minutes or hours, and a line a second would bury the report.
	soakProgressEvery = 5 * time.Second
	// soakCallTimeout bounds every unary call: a server that does not
	// answer within it is hung, not slow.
	soakCallTimeout = 30 * time.Second
	// soakDrainTimeout bounds the wait, after the writers stopped, for the
	// readers to reach every acknowledged record.
	soakDrainTimeout = 60 * time.Second
	// soakIdle is a polling reader's pause at the tip of a shard: AWS
	// allows 5 GetRecords a second per shard.
	soakIdle = 200 * time.Millisecond
	// soakRetentionHours is the streams' retention at creation and the
	// least the soak ever sets (AWS's minimum); it raises it to
	// soakRetentionHoursUp and back.
	soakRetentionHours   = 24
	soakRetentionHoursUp = 48
	// soakSubscriptionIdle is how long a subscription may go without an
	// event before the soak calls it stalled: AWS sends one at least
	// every 5 seconds.
	soakSubscriptionIdle = 30 * time.Second
)

// soakCounters are the soak's running figures.
type soakCounters struct {
	calls, putCalls, acked, maybe, throttled, refused, transport atomic.Int64
	read, iteratorsExpired, subscriptions, resubscriptions       atomic.Int64
	sessionErrors, splits, merges, shardCounts, shardCountDaily  atomic.Int64
	retentionUps, retentionDowns, refusedOps                     atomic.Int64
	streamsCreated, streamsDeleted, consumers, restarts          atomic.Int64
	hotPhases                                                    atomic.Int64
}

// soakStream is one generation of a stream: a creation, with its own
// records. A stream deleted and created again under the same name is a
// new generation.
type soakStream struct {
	name string
	gen  string // in every record's data, so that a record of another generation is recognised
	kind string // "sparse", "ondemand" or "churn"
	arn  string
	// created is set once CreateStream has succeeded (or found the stream
	// in use), so that a stream whose set-up was cut short is deleted all
	// the same.
	created bool
	// keys is every partition key's ledger, complete before the readers
	// start and read-only after.
	keys      map[string]*keyLog
	verifiers []*verifier
	consumer  string // ARN of its consumer
	// deleted is set just before the soak deletes the stream: from then on
	// errors of its actors are expected and its records are not all
	// expected back.
	deleted atomic.Bool
}

// soak is one run of the soak workload.
type soak struct {
	b     *bench
	opts  Options
	kc    *kinesis.Client // retries nothing: each actor decides what is safe to retry
	runID string          // names this run's record generations
	start time.Time
	// leftBehind is the soak's streams still there after its clean-up.
	leftBehind []string
	// retention is soakRetentionHours of the server's hours: a record not
	// read back counts as expired rather than lost once it is older.
	retention time.Duration
	lifeEnd   time.Duration // since start: when the life was over
	stop      chan struct{} // closed when the life is over: writers and control stop
	draining  chan struct{} // closed when the readers are to catch up: pauses end
	errs      *errorLog
	// lost keeps the calls whose answer was lost (connection reset or
	// closed), expected around a restart and otherwise worth a look.
	lost     *errorLog
	c        soakCounters
	onDemand onDemandSeen
	srv      *serverWatch

	mu      sync.Mutex
	streams []*soakStream
}

// maybeBytes is a figure of the soak's, -1 when unknown, as MaybeBytes.
func maybeBytes(n int64) MaybeBytes {
	return MaybeBytes{Asked: true, Known: n >= 0, Bytes: n}
}

// soak runs the soak workload.
func (b *bench) soak(ctx context.Context) ([]WorkloadResult, error) {
	var id [3]byte
	rand.Read(id[:])
	s := &soak{
		b:    b,
		opts: b.opts,
		// The bench's client, over the same HTTP client, without the
		// standard retryer: a PutRecords retried after its answer was
		// lost may store its records twice, and the soak must know which
		// records may have been stored to tell loss from expiry and
		// duplicates from retries.
		kc: kinesis.New(b.client.Options(), func(o *kinesis.Options) {
			o.Retryer = aws.NopRetryer{}
		}),
		runID:     hex.EncodeToString(id[:]),
		retention: soakRetentionHours * b.opts.SoakRetentionHour,
		stop:      make(chan struct{}),
		draining:  make(chan struct{}),
		errs:      &errorLog{start: time.Now()},
		lost:      &errorLog{start: time.Now()},
	}
	s.srv = newServerWatch(s)
	w := WorkloadResult{Name: WorkloadSoak, RecordSize: soakRecordSize}
	res, err := s.run(ctx)
	w.Soak = res
	if res != nil {
		// The soak's own measures, of the process that lived to the end
		// after restarts.
		if b.opts.PID != 0 {
			w.RSSStartBytes = maybeBytes(res.Server.RSSStartBytes)
			w.RSSEndBytes = maybeBytes(res.Server.RSSEndBytes)
		}
		w.Records = res.Writes.Acked
		w.Bytes = w.Records * soakRecordSize
		w.Calls = res.Writes.Calls
		w.FailedRecords = res.Writes.Throttled
		w.setRates(time.Duration(res.LifeS*float64(time.Second)), true)
		if err == nil && !res.Passed {
			err = fmt.Errorf("%d of %d checks failed: %s", res.failed(), len(res.Checks), res.failedNames())
		}
	}
	return []WorkloadResult{w}, err
}

// run is the soak: set-up, the life, the drain, the clean-up and the
// checks. An error means the soak could not run (no endpoint, a stream
// never became ACTIVE); a failed check is in the result.
func (s *soak) run(ctx context.Context) (*SoakResult, error) {
	s.start = time.Now()
	s.errs.start, s.lost.start = s.start, s.start
	fmt.Fprintf(s.b.stderr, "soak: %v against %s; progress every %v\n", s.opts.Duration, s.opts.Endpoint, soakProgressEvery)
	if err := s.srv.takeBaseline(ctx); err != nil {
		return nil, err
	}

	// The life ends early if the server dies (lifeCancel) or the user
	// interrupts (ctx).
	lifeCtx, lifeCancel := context.WithCancelCause(ctx)
	defer lifeCancel(nil)
	readCtx, readCancel := context.WithCancel(lifeCtx)
	defer readCancel()

	var watchWG sync.WaitGroup
	watchCtx, watchCancel := context.WithCancel(context.Background())
	watchWG.Go(func() { s.srv.watch(watchCtx, lifeCancel) })
	watchWG.Go(func() { s.progress(watchCtx) })
	stopWatch := func() {
		watchCancel()
		watchWG.Wait()
	}

	sparse, ondemand, ws, err := s.setUp(lifeCtx)
	if err != nil {
		// A server that died under the set-up is the soak's finding, not
		// a failure to run it. It may take a moment to be gone.
		if s.srv.checkAlive(lifeCancel) {
			sleep(ctx, soakSampleEvery)
			s.srv.checkAlive(lifeCancel)
		}
		stopWatch()
		if s.srv.dead() {
			s.lifeEnd = time.Since(s.start)
			now := time.Now()
			return s.result(0, now, now, false, context.Cause(lifeCtx)), nil
		}
		s.cleanUp(context.WithoutCancel(ctx), sparse, ondemand)
		return nil, err
	}
	lifeStart := time.Now()

	var writers, control, readers sync.WaitGroup
	for _, w := range ws.all {
		writers.Go(func() { w.run(lifeCtx) })
	}
	for _, st := range []*soakStream{sparse, ondemand} {
		s.startReaders(readCtx, &readers, st, st == sparse)
	}
	// The control actors stop when the life does: a call of theirs still
	// retrying (a reshard throttled) is abandoned then, not waited for.
	controlCtx, controlCancel := context.WithCancel(lifeCtx)
	defer controlCancel()
	control.Go(func() { s.reshardLoop(controlCtx, sparse) })
	control.Go(func() { s.onDemandLoop(controlCtx, ondemand, ws.hot, &s.onDemand) })
	control.Go(func() { s.churnLoop(controlCtx) })
	if r := s.opts.SoakRestart; r != nil {
		control.Go(func() { s.restart(controlCtx, lifeCancel, r) })
	}

	select {
	case <-time.After(s.opts.Duration):
	case <-lifeCtx.Done():
	}
	close(s.stop)
	writers.Wait()
	controlCancel()
	control.Wait()
	lifeS := time.Since(lifeStart).Seconds()
	s.lifeEnd = time.Since(s.start)

	// The readers catch up with every acknowledged record, unless the
	// server is gone.
	close(s.draining)
	drainStart := time.Now()
	drainEnd, drained := s.drain(lifeCtx, sparse, ondemand)
	readCancel()
	readers.Wait()

	s.cleanUp(context.WithoutCancel(ctx), sparse, ondemand)
	s.leftBehind = s.soakStreamsLeft(context.WithoutCancel(ctx))
	// The client's connections close before the server's counts are
	// compared with the start: the server keeps a goroutine and a
	// descriptor per connection.
	closed := s.b.conns.closeAll()
	s.srv.settle(context.WithoutCancel(ctx))
	stopWatch()
	res := s.result(lifeS, drainStart, drainEnd, drained, context.Cause(lifeCtx))
	res.ConnsClosedAtEnd = closed
	return res, nil
}

// soakWriters is the writers of the long-lived streams; hot switches the
// on-demand stream's hot writer on and off.
type soakWriters struct {
	all []*soakWriter
	hot *atomic.Bool
}

// setUp creates the sparse and on-demand streams, their consumers and
// their writers (which only start once the readers know every key).
func (s *soak) setUp(ctx context.Context) (sparse, ondemand *soakStream, ws soakWriters, err error) {
	// One call first, so that an endpoint that is wrong or down fails the
	// soak at once instead of after soakRefusedFor.
	pctx, cancel := context.WithTimeout(ctx, soakCallTimeout)
	_, err = s.kc.ListStreams(pctx, &kinesis.ListStreamsInput{Limit: aws.Int32(1)})
	cancel()
	if err != nil && classify(pctx, err) != errThrottled {
		return nil, nil, ws, fmt.Errorf("reaching %s: %w", s.opts.Endpoint, err)
	}
	sparse, err = s.createStream(ctx, s.streamName("sparse"), "sparse", s.runID+"-s", 4, false)
	if err != nil {
		return sparse, nil, ws, err
	}
	ondemand, err = s.createStream(ctx, s.streamName("ondemand"), "ondemand", s.runID+"-o", 0, true)
	if err != nil {
		return sparse, ondemand, ws, err
	}
	for _, st := range []*soakStream{sparse, ondemand} {
		if err := s.registerConsumer(ctx, st); err != nil {
			return sparse, ondemand, ws, err
		}
	}
	rate := float64(s.opts.SoakRate)
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	quarter := new(big.Int).Lsh(big.NewInt(1), 126)
	ws.hot = new(atomic.Bool)
	ws.all = []*soakWriter{
		// 60 % of the rate, all in the lower half of the key space.
		s.newWriter(sparse, "k", 16, 0.6*rate, randomHashKeys(half)),
		// 15 %, hashed over all shards, gently enough that every shard
		// stays under the merge threshold (a fifth of capacity).
		s.newWriter(ondemand, "k", 8, 0.15*rate, nil),
		// Hot: as fast as the first shard's range takes it, up to
		// hotRateCap, spread over that range so that the split halves
		// share it.
		s.newWriter(ondemand, "h", 64, hotRateCap, randomHashKeys(quarter)),
	}
	ws.all[2].on = ws.hot
	return sparse, ondemand, ws, nil
}

// hotRateCap bounds the hot writer: twice AWS's 1000 records/s per shard,
// enough to make any shard split, without filling a disk when limits are
// off.
const hotRateCap = 2000

// streamName names a stream of this run.
func (s *soak) streamName(kind string) string {
	return s.opts.StreamPrefix + "soak-" + kind + "-" + s.runID
}

// startReaders starts a stream's polling reader group and its consumer's
// subscriptions; they stop when ctx is done.
func (s *soak) startReaders(ctx context.Context, wg *sync.WaitGroup, st *soakStream, pausing bool) {
	poll := newVerifier("poll", st.gen, st.keys)
	efo := newVerifier("efo:"+soakConsumer, st.gen, st.keys)
	s.mu.Lock()
	st.verifiers = append(st.verifiers, poll, efo)
	s.mu.Unlock()
	wg.Go(func() { s.newPollGroup(st, poll, pausing).run(ctx) })
	wg.Go(func() { s.newSubscribeGroup(st, efo).run(ctx) })
}

// restart calls the test's hook to kill and restart the server.
func (s *soak) restart(ctx context.Context, abort context.CancelCauseFunc, r *SoakRestart) {
	if !s.pause(ctx, r.After) {
		return
	}
	s.srv.restarting.Store(true)
	fmt.Fprintf(s.b.stderr, "soak: %.0fs: restarting the server\n", time.Since(s.start).Seconds())
	pid, err := r.Restart(ctx)
	if err != nil {
		s.errs.add("restarting the server: %v", err)
		abort(fmt.Errorf("restarting the server: %w", err))
		return
	}
	s.srv.restarted(pid)
	s.c.restarts.Add(1)
	fmt.Fprintf(s.b.stderr, "soak: %.0fs: the server runs again (pid %d)\n", time.Since(s.start).Seconds(), pid)
}

// drain waits until every reader of the streams that live on has read or
// gone past every acknowledged record, for at most soakDrainTimeout, and
// returns when it stopped waiting and whether they all had.
func (s *soak) drain(ctx context.Context, streams ...*soakStream) (time.Time, bool) {
	deadline := time.Now().Add(soakDrainTimeout)
	for {
		caughtUp := true
		for _, st := range streams {
			s.mu.Lock()
			vs := append([]*verifier(nil), st.verifiers...)
			s.mu.Unlock()
			for _, v := range vs {
				caughtUp = caughtUp && v.caughtUp()
			}
		}
		if caughtUp || time.Now().After(deadline) || ctx.Err() != nil {
			return time.Now(), caughtUp
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

// pause waits for d, or until the life is over or ctx is done; it reports
// whether the whole time passed.
func (s *soak) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	case <-ctx.Done():
		return false
	}
}

// living reports whether the life goes on.
func (s *soak) living(ctx context.Context) bool {
	select {
	case <-s.stop:
		return false
	default:
		return ctx.Err() == nil
	}
}

// soakRefusedFor is how long do keeps trying a call that finds no server
// listening: long enough for a restart, short enough that a soak whose
// server is gone for good ends.
const soakRefusedFor = 30 * time.Second

// do makes a call with soakCallTimeout, retrying what is safe to retry:
// throttling, a connection refused (the server restarting, for up to
// soakRefusedFor), and, for an idempotent call, a lost answer. Other
// errors are the caller's; it returns ctx's error once ctx is done.
func (s *soak) do(ctx context.Context, idempotent bool, call func(ctx context.Context) error) error {
	bo := backoff{min: 100 * time.Millisecond, max: 2 * time.Second}
	var refusedSince time.Time
	for {
		cctx, cancel := context.WithTimeout(ctx, soakCallTimeout)
		err := call(cctx)
		kind := classify(cctx, err)
		cancel()
		s.c.calls.Add(1)
		if err == nil {
			return nil
		}
		switch {
		case kind == errCanceled:
			return ctx.Err()
		case kind == errThrottled:
		case kind == errRefused:
			s.c.refused.Add(1)
			if refusedSince.IsZero() {
				refusedSince = time.Now()
			} else if time.Since(refusedSince) > soakRefusedFor {
				return err
			}
		case idempotent && (kind == errTransport || kind == errTimeout || kind == errServer):
			s.c.transport.Add(1)
			if kind != errTransport {
				s.errs.add("retrying: %v", err)
			} else {
				s.lost.add("retrying: %v", err)
			}
		default:
			return err
		}
		if !sleep(ctx, bo.next()) {
			return ctx.Err()
		}
	}
}

// createStream creates a stream of shards shards (an on-demand one when
// onDemand) and waits until it is ACTIVE. The returned stream is non-nil
// even on error, so that the caller can clean it up.
func (s *soak) createStream(ctx context.Context, name, kind, gen string, shards int, onDemand bool) (*soakStream, error) {
	st := &soakStream{name: name, gen: gen, kind: kind, keys: make(map[string]*keyLog)}
	in := &kinesis.CreateStreamInput{StreamName: aws.String(name)}
	if onDemand {
		in.StreamModeDetails = &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}
	} else {
		in.ShardCount = aws.Int32(int32(shards))
	}
	err := s.do(ctx, false, func(ctx context.Context) error {
		_, err := s.kc.CreateStream(ctx, in)
		return err
	})
	// A CreateStream whose answer was lost may have created the stream;
	// trying again then finds it in use.
	if err != nil && classify(ctx, err) != errInUse {
		return st, fmt.Errorf("creating stream %s: %w", name, err)
	}
	s.c.streamsCreated.Add(1)
	st.created = true
	s.mu.Lock()
	s.streams = append(s.streams, st)
	s.mu.Unlock()
	if err := s.waitActive(ctx, st, s.opts.CreateTimeout); err != nil {
		return st, err
	}
	return st, nil
}

// waitActive waits until the stream is ACTIVE, for at most timeout, and
// notes its ARN.
func (s *soak) waitActive(ctx context.Context, st *soakStream, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var out *kinesis.DescribeStreamSummaryOutput
		err := s.do(ctx, true, func(ctx context.Context) (err error) {
			out, err = s.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(st.name)})
			return err
		})
		switch {
		case err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive:
			st.arn = aws.ToString(out.StreamDescriptionSummary.StreamARN)
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && classify(ctx, err) != errNotFound:
			return fmt.Errorf("describing stream %s: %w", st.name, err)
		case time.Now().After(deadline):
			return fmt.Errorf("stream %s not ACTIVE after %v", st.name, timeout)
		}
		// DescribeStreamSummary allows 20 calls a second per account.
		sleep(ctx, 250*time.Millisecond)
	}
}

// soakConsumer is the name of each stream's consumer.
const soakConsumer = "soak-efo"

// registerConsumer registers the stream's consumer and waits until it is
// ACTIVE.
func (s *soak) registerConsumer(ctx context.Context, st *soakStream) error {
	var arn string
	err := s.do(ctx, false, func(ctx context.Context) error {
		out, err := s.kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
			StreamARN: aws.String(st.arn), ConsumerName: aws.String(soakConsumer)})
		if err == nil {
			arn = aws.ToString(out.Consumer.ConsumerARN)
		}
		return err
	})
	if err != nil && classify(ctx, err) != errInUse {
		return fmt.Errorf("registering a consumer of %s: %w", st.name, err)
	}
	s.c.consumers.Add(1)
	deadline := time.Now().Add(s.opts.CreateTimeout)
	for {
		var out *kinesis.DescribeStreamConsumerOutput
		err := s.do(ctx, true, func(ctx context.Context) (err error) {
			out, err = s.kc.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{
				StreamARN: aws.String(st.arn), ConsumerName: aws.String(soakConsumer)})
			return err
		})
		switch {
		case err == nil && out.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive:
			st.consumer = aws.ToString(out.ConsumerDescription.ConsumerARN)
			if arn != "" && arn != st.consumer {
				return fmt.Errorf("consumer of %s registered as %s, described as %s", st.name, arn, st.consumer)
			}
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && classify(ctx, err) != errNotFound:
			return fmt.Errorf("describing the consumer of %s: %w", st.name, err)
		case time.Now().After(deadline):
			return fmt.Errorf("consumer of %s not ACTIVE after %v", st.name, s.opts.CreateTimeout)
		}
		sleep(ctx, 250*time.Millisecond)
	}
}

// deleteStream deletes a stream with its consumers and waits until it is
// gone.
func (s *soak) deleteStream(ctx context.Context, st *soakStream) error {
	st.deleted.Store(true)
	err := s.do(ctx, false, func(ctx context.Context) error {
		_, err := s.kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{
			StreamName: aws.String(st.name), EnforceConsumerDeletion: aws.Bool(true)})
		return err
	})
	switch k := classify(ctx, err); {
	case err == nil, k == errNotFound:
	case k == errInUse:
		// Still CREATING (it never became ACTIVE), or the answer to an
		// earlier try was lost and it is DELETING; either way, wait.
	default:
		return fmt.Errorf("deleting stream %s: %w", st.name, err)
	}
	deadline := time.Now().Add(deleteTimeout)
	for {
		err := s.do(ctx, true, func(ctx context.Context) error {
			_, err := s.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(st.name)})
			return err
		})
		switch {
		case classify(ctx, err) == errNotFound:
			s.c.streamsDeleted.Add(1)
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline):
			return fmt.Errorf("stream %s still exists %v after DeleteStream", st.name, deleteTimeout)
		case err != nil:
			return fmt.Errorf("describing deleted stream %s: %w", st.name, err)
		}
		sleep(ctx, 250*time.Millisecond)
	}
}

// cleanUp deletes the soak's long-lived streams at the end.
func (s *soak) cleanUp(ctx context.Context, streams ...*soakStream) {
	for _, st := range streams {
		if st == nil || s.srv.dead() {
			continue
		}
		if err := s.deleteStream(ctx, st); err != nil {
			s.errs.add("%v", err)
			fmt.Fprintf(s.b.stderr, "bench: warning: stream %s is left behind: %v\n", st.name, err)
		}
	}
}

// soakStreamsLeft lists the streams of this soak that still exist after
// its clean-up (nil when the server cannot be asked): a stream left
// behind is a fault of the soak or of DeleteStream.
func (s *soak) soakStreamsLeft(ctx context.Context) []string {
	if s.srv.dead() {
		return nil
	}
	var left []string
	in := &kinesis.ListStreamsInput{}
	for {
		var out *kinesis.ListStreamsOutput
		err := s.do(ctx, true, func(ctx context.Context) (err error) {
			out, err = s.kc.ListStreams(ctx, in)
			return err
		})
		if err != nil {
			s.errs.add("listing the streams left: %v", err)
			return left
		}
		for _, name := range out.StreamNames {
			if strings.HasPrefix(name, s.opts.StreamPrefix+"soak-") && strings.HasSuffix(name, "-"+s.runID) {
				left = append(left, name)
			}
		}
		if out.NextToken == nil {
			return left
		}
		in = &kinesis.ListStreamsInput{NextToken: out.NextToken}
	}
}

// listShards lists every shard of a stream that ListShards shows.
func (s *soak) listShards(ctx context.Context, name string) ([]types.Shard, error) {
	var shards []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(name)}
	for {
		var out *kinesis.ListShardsOutput
		err := s.do(ctx, true, func(ctx context.Context) (err error) {
			out, err = s.kc.ListShards(ctx, in)
			return err
		})
		if err != nil {
			return nil, err
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// unexpected records an error of an actor of st, unless st is being
// deleted, when errors are what deleting it means.
func (s *soak) unexpected(st *soakStream, format string, args ...any) {
	if st != nil && st.deleted.Load() {
		return
	}
	s.errs.add(format, args...)
}

// progress prints a line every soakProgressEvery until ctx is done.
func (s *soak) progress(ctx context.Context) {
	t := time.NewTicker(soakProgressEvery)
	defer t.Stop()
	lastAcked, last := int64(0), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			acked := s.c.acked.Load()
			rate := float64(acked-lastAcked) / now.Sub(last).Seconds()
			lastAcked, last = acked, now
			errs, _ := s.errs.snapshot()
			fmt.Fprintf(s.b.stderr, "soak: %.0fs of %v: acked %s (%s/s), read %s, maybe %s, throttled %s, streams %d created %d deleted, reshards %d, sessions %s (%s resumed), iterators expired %s, unexpected errors %d%s\n",
				now.Sub(s.start).Seconds(), s.opts.Duration, cli.Thousands(acked), cli.Thousands(int64(rate)),
				cli.Thousands(s.c.read.Load()), cli.Thousands(s.c.maybe.Load()), cli.Thousands(s.c.throttled.Load()),
				s.c.streamsCreated.Load(), s.c.streamsDeleted.Load(),
				s.c.splits.Load()+s.c.merges.Load()+s.c.shardCounts.Load(),
				cli.Thousands(s.c.subscriptions.Load()), cli.Thousands(s.c.resubscriptions.Load()),
				cli.Thousands(s.c.iteratorsExpired.Load()), errs, s.srv.progressText())
		}
	}
}

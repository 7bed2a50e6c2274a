package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// lineage starts the reading of each shard of a stream once its parents
// have been read to their end, as the KCL does, so that every partition
// key's records are read in the order they were written across splits and
// merges.
type lineage struct {
	mu     sync.Mutex
	shards map[string]*lineageShard
	start  func(id string) // starts reading a shard; called with mu held
}

type lineageShard struct {
	parents       []string
	started, done bool
}

// sync learns the shards of a full ListShards listing and starts those
// whose parents are done. A parent not listed is past its retention: there
// is nothing of it left to read.
func (l *lineage) sync(listed []types.Shard) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sh := range listed {
		id := aws.ToString(sh.ShardId)
		if l.shards[id] != nil {
			continue
		}
		ls := &lineageShard{}
		for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
			if p != nil {
				ls.parents = append(ls.parents, *p)
			}
		}
		l.shards[id] = ls
	}
	for id, ls := range l.shards {
		if ls.started {
			continue
		}
		ready := true
		for _, p := range ls.parents {
			if ps := l.shards[p]; ps != nil && !ps.done {
				ready = false
			}
		}
		if ready {
			ls.started = true
			l.start(id)
		}
	}
}

// finished notes that a shard was read to its end.
func (l *lineage) finished(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shards[id].done = true
}

// readerGroup reads every shard of a stream with readShard, following
// lineage, until ctx is done or the stream is deleted.
type readerGroup struct {
	s  *soak
	st *soakStream
	v  *verifier
	// readShard reads a shard and reports whether it read it to its end.
	readShard func(ctx context.Context, shard string) bool
	nudge     chan struct{} // asks for a listing now
}

// readerListEvery is how often a group lists the stream's shards, besides
// whenever a shard ends: it finds the children of splits and merges.
const readerListEvery = 2 * time.Second

func (g *readerGroup) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	g.nudge = make(chan struct{}, 1)
	lin := &lineage{shards: make(map[string]*lineageShard)}
	lin.start = func(id string) {
		wg.Go(func() {
			if g.readShard(ctx, id) {
				lin.finished(id)
				select {
				case g.nudge <- struct{}{}:
				default:
				}
			}
		})
	}
	t := time.NewTicker(readerListEvery)
	defer t.Stop()
	for {
		shards, err := g.s.listShards(ctx, g.st.name)
		switch {
		case err == nil:
			lin.sync(shards)
		case ctx.Err() != nil:
		case g.st.deleted.Load():
			return
		default:
			g.s.unexpected(g.st, "ListShards of %s (%s reader): %v", g.st.name, g.v.name, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-g.nudge:
		}
	}
}

// newPollGroup returns the polling readers of a stream: GetRecords on
// every shard. Pausing readers stop for --soak-reader-pause every
// --soak-reader-pause of reading, so that their iterators expire.
func (s *soak) newPollGroup(st *soakStream, v *verifier, pausing bool) *readerGroup {
	g := &readerGroup{s: s, st: st, v: v}
	g.readShard = func(ctx context.Context, shard string) bool { return g.poll(ctx, shard, pausing) }
	return g
}

// poll reads a shard with GetRecords until its end, ctx is done or the
// stream is deleted. After an iterator expires it takes a new one after
// the last record read, as a client must.
func (g *readerGroup) poll(ctx context.Context, shard string, pausing bool) bool {
	s := g.s
	var iter *string
	last := "" // sequence number of the last record read
	readSince := time.Now()
	bo := backoff{min: 100 * time.Millisecond, max: 2 * time.Second}
	for ctx.Err() == nil {
		if pausing && time.Since(readSince) >= s.opts.SoakReaderPause {
			s.readerPause(ctx)
			readSince = time.Now()
		}
		if iter == nil {
			in := &kinesis.GetShardIteratorInput{StreamName: aws.String(g.st.name), ShardId: aws.String(shard),
				ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
			if last != "" {
				in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
				in.StartingSequenceNumber = aws.String(last)
			}
			err := s.do(ctx, true, func(ctx context.Context) error {
				out, err := s.kc.GetShardIterator(ctx, in)
				if err == nil {
					iter = out.ShardIterator
				}
				return err
			})
			if err != nil {
				if ctx.Err() != nil || g.st.deleted.Load() {
					return false
				}
				s.unexpected(g.st, "GetShardIterator %s %s of %s: %v", in.ShardIteratorType, shard, g.st.name, err)
				sleep(ctx, bo.next())
				continue
			}
		}
		cctx, cancel := context.WithTimeout(ctx, soakCallTimeout)
		out, err := s.kc.GetRecords(cctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
		kind := classify(cctx, err)
		cancel()
		s.c.calls.Add(1)
		if err != nil {
			switch {
			case kind == errCanceled:
				return false
			case kind == errExpired:
				s.c.iteratorsExpired.Add(1)
				iter = nil
				continue
			case g.st.deleted.Load():
				return false
			case kind == errThrottled:
			case kind == errRefused:
				s.c.refused.Add(1)
			case kind == errTransport:
				s.c.transport.Add(1)
				s.lost.add("GetRecords %s of %s: %v", shard, g.st.name, err)
			default:
				s.unexpected(g.st, "GetRecords %s of %s: %v", shard, g.st.name, err)
				iter = nil
			}
			sleep(ctx, bo.next())
			continue
		}
		bo.reset()
		now := time.Now()
		for _, r := range out.Records {
			g.v.deliver(shard, aws.ToString(r.PartitionKey), aws.ToString(r.SequenceNumber), r.Data, now)
			last = aws.ToString(r.SequenceNumber)
		}
		s.c.read.Add(int64(len(out.Records)))
		if out.NextShardIterator == nil {
			return true // a closed shard, read to its end
		}
		iter = out.NextShardIterator
		if len(out.Records) == 0 || aws.ToInt64(out.MillisBehindLatest) == 0 {
			sleep(ctx, soakIdle)
		}
	}
	return false
}

// readerPause is a pausing reader's pause: --soak-reader-pause, cut short
// when the readers are to catch up at the end.
func (s *soak) readerPause(ctx context.Context) {
	t := time.NewTimer(s.opts.SoakReaderPause)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.draining:
	case <-ctx.Done():
	}
}

// newSubscribeGroup returns the stream's consumer's readers:
// SubscribeToShard on every shard.
func (s *soak) newSubscribeGroup(st *soakStream, v *verifier) *readerGroup {
	g := &readerGroup{s: s, st: st, v: v}
	g.readShard = g.subscribe
	return g
}

// subscribe reads a shard through SubscribeToShard sessions until its
// end, ctx is done or the stream is deleted. Each session that ends (after
// its lifetime, or broken) is followed by a new one from the last
// ContinuationSequenceNumber, as a client must.
func (g *readerGroup) subscribe(ctx context.Context, shard string) bool {
	s := g.s
	// A client of its own (over the same HTTP client), because the SDK's
	// event stream decoder is shared by all the calls of a client, and
	// concurrent subscriptions race on it (smithy-go issue 714; harmless
	// today, but the race detector stops a test on it).
	kc := kinesis.New(s.kc.Options())
	cont := ""
	bo := backoff{min: 200 * time.Millisecond, max: 2 * time.Second}
	for ctx.Err() == nil {
		pos := &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}
		if cont != "" {
			pos = &types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(cont)}
		}
		done, err := g.session(ctx, kc, shard, pos, &cont)
		switch {
		case done:
			return true
		case err == nil:
			bo.reset()
			continue // the session ended after its lifetime
		case ctx.Err() != nil:
			return false
		}
		switch kind := classify(ctx, err); {
		case g.st.deleted.Load():
			return false
		case kind == errInUse:
			// The server has not yet seen the end of the previous
			// session, which it protects for 5 seconds.
		case kind == errThrottled:
			// One SubscribeToShard a second per consumer and shard.
		case kind == errRefused:
			s.c.refused.Add(1)
		case kind == errTransport:
			s.c.sessionErrors.Add(1)
			s.lost.add("SubscribeToShard %s of %s: %v", shard, g.st.name, err)
		default:
			s.unexpected(g.st, "SubscribeToShard %s of %s: %v", shard, g.st.name, err)
		}
		sleep(ctx, bo.next())
	}
	return false
}

// session is one SubscribeToShard session from pos; it delivers the
// records, keeps *cont at the last ContinuationSequenceNumber and reports
// whether the shard ended (an event with ChildShards and no continuation).
func (g *readerGroup) session(ctx context.Context, kc *kinesis.Client, shard string, pos *types.StartingPosition, cont *string) (done bool, err error) {
	s := g.s
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A session that goes silent is ended: the server owes an event every
	// few seconds.
	var stalled atomic.Bool
	watchdog := time.AfterFunc(soakSubscriptionIdle, func() {
		stalled.Store(true)
		cancel()
	})
	defer watchdog.Stop()
	out, err := kc.SubscribeToShard(sctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(g.st.consumer), ShardId: aws.String(shard), StartingPosition: pos})
	s.c.calls.Add(1)
	if err != nil {
		if stalled.Load() && ctx.Err() == nil {
			s.unexpected(g.st, "SubscribeToShard %s of %s: no answer in %v", shard, g.st.name, soakSubscriptionIdle)
			return false, nil
		}
		return false, err
	}
	s.c.subscriptions.Add(1)
	if pos.Type == types.ShardIteratorTypeAfterSequenceNumber {
		s.c.resubscriptions.Add(1)
	}
	es := out.GetStream()
	defer es.Close()
	for ev := range es.Events() {
		watchdog.Reset(soakSubscriptionIdle)
		e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !ok {
			continue
		}
		now := time.Now()
		for _, r := range e.Value.Records {
			g.v.deliver(shard, aws.ToString(r.PartitionKey), aws.ToString(r.SequenceNumber), r.Data, now)
		}
		s.c.read.Add(int64(len(e.Value.Records)))
		if c := aws.ToString(e.Value.ContinuationSequenceNumber); c != "" {
			*cont = c
		} else if len(e.Value.ChildShards) > 0 {
			done = true
		}
	}
	watchdog.Stop()
	if done {
		return true, nil
	}
	if stalled.Load() && ctx.Err() == nil {
		s.unexpected(g.st, "SubscribeToShard %s of %s: no event in %v", shard, g.st.name, soakSubscriptionIdle)
		return false, nil
	}
	return false, es.Err()
}

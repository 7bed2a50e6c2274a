package stream

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/tributary-io/tributary/internal/bufpool"
	"github.com/tributary-io/tributary/storage"
)

const (
	defaultGetRecords = 10000
	maxGetRecords     = 10000
	// maxGetRecordsBytes bounds the data one GetRecords returns (10 MiB).
	maxGetRecordsBytes = 10 << 20
)

// writable returns a stream records can be put to. AWS answers puts to a
// stream that is CREATING or DELETING as if it did not exist.
func (s *Service) writable(ctx context.Context, scope Scope, name string) (*streamRecord, error) {
	e, st, err := s.get(ctx, scope, name)
	if err != nil {
		return nil, err
	}
	if st == StatusCreating || st == StatusDeleting {
		return nil, errStreamNotFound(name, scope.Account)
	}
	return e.rec, nil
}

// hashKeyOf is the hash key a record is routed by.
func hashKeyOf(partitionKey, explicit string) (uint128, error) {
	if explicit == "" {
		return partitionHash(partitionKey), nil
	}
	h, err := parseHashKey(explicit)
	if err != nil {
		return uint128{}, errExplicitHashKey(explicit)
	}
	return h, nil
}

// route returns the open shard whose hash key range holds h. Open shards
// always cover the whole hash space, so there is one.
func (r *streamRecord) route(h uint128) *shardRecord {
	if r.routes != nil {
		return r.routes.lookup(r, h)
	}
	for i := range r.Shards {
		sh := &r.Shards[i]
		if sh.open() && sh.StartHash.cmp(h) <= 0 && h.cmp(sh.EndHash) <= 0 {
			return sh
		}
	}
	return nil
}

// recordSize is a record's size as AWS counts it, for the maximum record
// size and for the write and read rates alike: data and partition key
// together.
func recordSize(partitionKey string, data []byte) int { return len(partitionKey) + len(data) }

// storedRecord is what the engine keeps of a record put: the partition key,
// which GetRecords returns with it, and the data. The explicit hash key only
// picks the shard and is never returned, so it is not kept.
func storedRecord(partitionKey string, data []byte) storage.Record {
	return storage.Record{Key: partitionKey, Data: data}
}

// readRecords turns a read of a shard's log into the records GetRecords and
// SubscribeToShard return, with the bytes they count against the read rate
// and how far the last of them is behind the newest record of the shard
// (MillisBehindLatest: 0 when it is the newest).
func readRecords(seq shardSeq, res storage.ReadResult) (recs []Record, bytes int, behind int64) {
	return readRecordsInto(make([]Record, 0, len(res.Records)), nil, seq, res)
}

// readRecordsInto is readRecords appending to recs. With lend set, the
// sequence numbers are not copied out of the batch's buffer, which
// *lend keeps: the records may be used only until it is released.
func readRecordsInto(recs []Record, lend **seqNumbers, seq shardSeq, res storage.ReadResult) (_ []Record, bytes int, behind int64) {
	nums := newSeqNumbers(len(res.Records))
	for _, r := range res.Records {
		nums.add(seq, r.Position, r.ArrivalTime)
	}
	var text string
	if lend != nil {
		text, *lend = nums.lend(), nums
	} else {
		text = string(nums.buf)
		defer nums.release()
	}
	recs = recs[:len(res.Records)]
	start := 0
	for i, r := range res.Records {
		bytes += recordSize(r.Key, r.Data)
		end := nums.ends[i]
		recs[i] = Record{
			SequenceNumber:              text[start:end],
			ApproximateArrivalTimestamp: time.UnixMilli(r.ArrivalTime).UTC(),
			Data:                        r.Data,
			PartitionKey:                r.Key,
			EncryptionType:              recordEncryption(r),
		}
		start = end
	}
	if n := len(res.Records); n > 0 {
		last := res.Records[n-1]
		if last.Position < res.LastPosition && res.LastArrival > last.ArrivalTime {
			behind = res.LastArrival - last.ArrivalTime
		}
	}
	return recs, bytes, behind
}

// checkRecordSize applies the stream's maximum record size.
func checkRecordSize(rec *streamRecord, partitionKey string, data []byte) error {
	size := recordSize(partitionKey, data)
	if limit := rec.MaxRecordKiB << 10; size > limit {
		return newError(CodeInvalidArgument,
			"Record size %d bytes, data and partition key together, exceeds the maximum record size of %d KiB of stream %s under account %s.",
			size, rec.MaxRecordKiB, rec.Name, rec.Account)
	}
	return nil
}

// PutRecord appends one record to the shard its hash key maps to.
//
// SequenceNumberForOrdering must be a sequence number of a layout AWS
// reads, not dated in the future (AWS's answer otherwise). The new
// record's number is greater than any number earlier returned for the
// same shard or its ancestors: within a shard because positions increase,
// and across a reshard because a child's epoch is above its parents' (see
// seqnum.go). A number from another stream carries no such guarantee, and
// is accepted as AWS accepts numbers it cannot order against.
func (s *Service) PutRecord(ctx context.Context, scope Scope, in PutRecordInput) (*PutRecordOutput, error) {
	var start time.Time
	if s.metrics != nil {
		start = time.Now()
	}
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return nil, err
	}
	rec, err := s.writable(ctx, scope, name)
	if err != nil {
		return nil, internal("put record", err)
	}
	sm := s.metrics.stream(rec)
	if sm != nil {
		// Every call on an existing stream is timed, failures too, so that
		// the histogram's count is the calls and Success/count the
		// success rate.
		defer func() { sm.putRecordLatency.Observe(millis(time.Since(start))) }()
	}
	if in.SequenceNumberForOrdering != "" {
		// Any number AWS reads is taken (not only ours), unless it is
		// dated in the future, as AWS answers.
		p, err := parseSeqNum(in.SequenceNumberForOrdering)
		if err != nil || p.arrival > s.now().Unix() {
			return nil, errOrderingSeq(in.SequenceNumberForOrdering, name, scope.Account)
		}
	}
	if err := checkRecordSize(rec, in.PartitionKey, in.Data); err != nil {
		return nil, err
	}
	h, err := hashKeyOf(in.PartitionKey, in.ExplicitHashKey)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, s.dryRun(scope, name)
	}
	if sh := rec.route(h); sh != nil && !s.throttle.write(scope, rec, sh.Index, 1, recordSize(in.PartitionKey, in.Data)) {
		s.throttle.writeRequestThrottled(scope, rec, sh.Index)
		if sm != nil {
			sm.putRecord(sh.Index, 0, false)
		}
		return nil, errShardRate(shardID(sh.Index), name, scope.Account)
	}
	if err := s.checkWriteKey(ctx, scope, rec); err != nil {
		return nil, err
	}
	batch := []storage.Record{storedRecord(in.PartitionKey, in.Data)}
	var backoff sealedBackoff
	for {
		sh := rec.route(h)
		if sh == nil {
			return nil, internal("put record", errors.New("no open shard covers hash key "+h.String()))
		}
		app, at, err := s.appendOnce(ctx, rec, sh.Index, batch)
		if errors.Is(err, storage.ErrSealed) {
			// The shard closed under us (resharding): route again with the
			// catalogue as it is now, after a pause while it still names
			// the sealed shard (see reshard.go).
			if rec, err = s.writable(ctx, scope, name); err != nil {
				return nil, internal("put record", err)
			}
			if rec.route(h) != nil && rec.route(h).Index == sh.Index {
				if err := backoff.wait(ctx); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		index := sh.Index
		if at != nil {
			index = at[0] // stored before, in an ancestor
		}
		if sm != nil {
			sm.putRecord(index, recordSize(in.PartitionKey, in.Data), true)
		}
		return &PutRecordOutput{
			ShardID:        shardID(index),
			SequenceNumber: rec.shardSeq(index).number(app[0].Position, app[0].ArrivalTime),
			EncryptionType: rec.encryptionType(),
		}, nil
	}
}

// append appends a batch to a shard's log, reporting a log deleted under
// us (the stream was deleted) as the stream not being found.
func (s *Service) append(ctx context.Context, rec *streamRecord, index uint32, batch []storage.Record) ([]storage.Appended, error) {
	l, err := s.shardLog(ctx, rec, index)
	if err == nil {
		var app []storage.Appended
		app, err = l.Append(ctx, batch)
		if err == nil {
			if rec.Mode == ModeOnDemand {
				s.meterAppend(rec, index, batch)
			}
			if s.metrics != nil && len(app) > 0 {
				s.metrics.stream(rec).shard(index).appendedBatch(len(app), app[len(app)-1].ArrivalTime)
			}
			return app, nil
		}
	}
	switch {
	case errors.Is(err, storage.ErrSealed):
		return nil, err
	case errors.Is(err, storage.ErrNotFound):
		return nil, errStreamNotFound(rec.Name, rec.Account)
	}
	if kerr := kmsError(err, rec); kerr != nil {
		return nil, kerr
	}
	return nil, internal("append", err)
}

// meterAppend counts an appended batch towards its shard's write rate.
func (s *Service) meterAppend(rec *streamRecord, index uint32, batch []storage.Record) {
	bytes := 0
	for i := range batch {
		bytes += recordSize(batch[i].Key, batch[i].Data)
	}
	s.meters.add(shardKey{rec.ID, index}, s.clock(), bytes, len(batch))
}

// shardAppend is the outcome of one shard's part of a PutRecords.
type shardAppend struct {
	app []storage.Appended
	at  []uint32 // see appendOnce
	err error
}

// PutRecords appends a batch of records. Records for the same shard are
// appended together, in request order, as one atomic batch; a shard whose
// append fails marks its records InternalFailure and the others still
// succeed, which is how AWS reports partial failure. Whole-request problems
// (an invalid ExplicitHashKey, an oversized record, a stream that does not
// exist) fail the request instead.
func (s *Service) PutRecords(ctx context.Context, scope Scope, in PutRecordsInput) (*PutRecordsOutput, error) {
	var start time.Time
	if s.metrics != nil {
		start = time.Now()
	}
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return nil, err
	}
	rec, err := s.writable(ctx, scope, name)
	if err != nil {
		return nil, internal("put records", err)
	}
	sm := s.metrics.stream(rec)
	if sm != nil {
		defer func() { sm.putRecordsLatency.Observe(millis(time.Since(start))) }()
	}
	hashes := make([]uint128, len(in.Records))
	for i, r := range in.Records {
		if err := checkRecordSize(rec, r.PartitionKey, r.Data); err != nil {
			return nil, err
		}
		if hashes[i], err = hashKeyOf(r.PartitionKey, r.ExplicitHashKey); err != nil {
			return nil, err
		}
	}
	if in.DryRun {
		return nil, s.dryRun(scope, name)
	}

	if err := s.checkWriteKey(ctx, scope, rec); err != nil {
		return nil, err
	}
	out := &PutRecordsOutput{Records: make([]PutRecordsResult, len(in.Records)), EncryptionType: rec.encryptionType()}
	var backoff sealedBackoff
	// Entries are admitted in request order, each against its shard's
	// write rate as the catalogue routes it now; a refused entry is not
	// stored and fails with AWS's ErrorCode and ErrorMessage, and the
	// entries after it are still tried (a smaller one may fit).
	pending := make([]int, 0, len(in.Records)) // indexes of entries not yet appended
	var throttledShards []uint32
	// puts is each shard's outcome for the metrics, counted once per
	// request; failed counts the entries answered InternalFailure.
	var puts []shardPut
	failed := 0
	if sm != nil {
		defer func() { sm.putRecords(puts, len(in.Records), failed) }()
	}
	for i, r := range in.Records {
		sh := rec.route(hashes[i])
		if sh != nil && !s.throttle.write(scope, rec, sh.Index, 1, recordSize(r.PartitionKey, r.Data)) {
			e := errShardRate(shardID(sh.Index), name, scope.Account)
			out.Records[i] = PutRecordsResult{ErrorCode: e.Code, ErrorMessage: e.Message}
			out.FailedRecordCount++
			if !slices.Contains(throttledShards, sh.Index) {
				throttledShards = append(throttledShards, sh.Index)
			}
			if sm != nil {
				puts = addShardPut(puts, sh.Index, 0, 0, 1)
			}
			continue
		}
		pending = append(pending, i)
	}
	for _, index := range throttledShards {
		s.throttle.writeRequestThrottled(scope, rec, index)
	}
	// numbered are the entries stored, in the order their sequence
	// numbers were added to nums.
	nums := newSeqNumbers(len(pending))
	numbered := make([]int, 0, len(pending))
	for len(pending) > 0 {
		// Group the pending entries by shard, keeping request order.
		var order []uint32
		groups := make(map[uint32][]int)
		for _, i := range pending {
			sh := rec.route(hashes[i])
			if sh == nil {
				return nil, internal("put records", errors.New("no open shard covers hash key "+hashes[i].String()))
			}
			if _, ok := groups[sh.Index]; !ok {
				order = append(order, sh.Index)
			}
			groups[sh.Index] = append(groups[sh.Index], i)
		}
		pending = pending[:0]
		// Append to every shard at once: the engine's group commit then
		// makes the whole request durable with about one fsync instead of
		// one per shard in turn. Each shard's records stay one batch in
		// request order; no order across shards is promised.
		results := make([]shardAppend, len(order))
		actx, announced := ctx, func() {}
		if a, ok := s.engine.(storage.Announcer); ok && len(order) > 1 {
			actx, announced = a.Announce(ctx, len(order))
		}
		var wg sync.WaitGroup
		for k, index := range order {
			idx := groups[index]
			batch := make([]storage.Record, len(idx))
			for j, i := range idx {
				batch[j] = storedRecord(in.Records[i].PartitionKey, in.Records[i].Data)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Outside the request's goroutine, a panic would escape the
				// HTTP server's recovery and end the process.
				defer func() {
					if v := recover(); v != nil {
						s.log.Error("stream: PutRecords append panicked", "stream", name, "shard", index, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
						results[k].err = fmt.Errorf("append to shard %d panicked: %v", index, v)
					}
				}()
				results[k].app, results[k].at, results[k].err = s.appendOnce(actx, rec, index, batch)
			}()
		}
		wg.Wait()
		announced()
		sealed := make(map[uint32]bool)
		for k, index := range order {
			idx, app, err := groups[index], results[k].app, results[k].err
			switch {
			case errors.Is(err, storage.ErrSealed):
				pending = append(pending, idx...)
				sealed[index] = true
				continue
			case err != nil:
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				var e *Error
				if errors.As(err, &e) {
					return nil, err
				}
				s.log.Error("stream: PutRecords append failed", "stream", name, "shard", index, "err", err)
				for _, i := range idx {
					out.Records[i] = PutRecordsResult{ErrorCode: CodeInternalFailure, ErrorMessage: "Internal Service Failure"}
				}
				out.FailedRecordCount += len(idx)
				failed += len(idx)
				continue
			}
			if sm != nil {
				bytes := 0
				for _, i := range idx {
					bytes += recordSize(in.Records[i].PartitionKey, in.Records[i].Data)
				}
				puts = addShardPut(puts, index, len(idx), bytes, 0)
			}
			seq, id := rec.shardSeq(index), shardID(index)
			for j, i := range idx {
				// The sequence numbers are written all at once at the end
				// (seqNumbers).
				if at := results[k].at; at != nil && at[j] != index {
					// Stored before, in an ancestor (dedup.go).
					out.Records[i] = PutRecordsResult{ShardID: shardID(at[j])}
					nums.add(rec.shardSeq(at[j]), app[j].Position, app[j].ArrivalTime)
				} else {
					out.Records[i] = PutRecordsResult{ShardID: id}
					nums.add(seq, app[j].Position, app[j].ArrivalTime)
				}
				numbered = append(numbered, i)
			}
		}
		if len(pending) > 0 {
			if rec, err = s.writable(ctx, scope, name); err != nil {
				return nil, internal("put records", err)
			}
			for _, i := range pending {
				if sh := rec.route(hashes[i]); sh != nil && sealed[sh.Index] {
					if err := backoff.wait(ctx); err != nil {
						return nil, err
					}
					break
				}
			}
		}
	}
	for k, seq := range nums.strings() {
		out.Records[numbered[k]].SequenceNumber = seq
	}
	nums.release()
	return out, nil
}

// GetRecords reads from a shard iterator.
//
// Records is empty only at the tip of the shard: the storage read returns
// at least one record whenever one exists at or after the iterator's
// position, however long ago or far ahead it is. NextShardIterator
// continues exactly after the last record returned. MillisBehindLatest is
// 0 when the page ends at the newest record of the shard, and otherwise the
// arrival time of that newest record minus the arrival time of the last
// record returned.
func (s *Service) GetRecords(ctx context.Context, scope Scope, in GetRecordsInput) (*GetRecordsOutput, error) {
	var start time.Time
	if s.metrics != nil {
		start = time.Now()
	}
	now := s.now()
	it, err := decodeIterator(s.iterKey, scope, in.ShardIterator, now, s.iterLifetime)
	if err != nil {
		return nil, err
	}
	id := shardID(it.shard)
	e, st, err := s.get(ctx, scope, it.stream)
	var nf *Error
	switch {
	case errors.As(err, &nf) && nf.Code == CodeNotFound:
		return nil, errShardNotFound(id, it.stream, scope.Account)
	case err != nil:
		return nil, internal("get records", err)
	}
	rec := e.rec
	// A stream re-created under the same name has another tag: the old
	// stream's iterators name a shard that no longer exists.
	if rec.Tag != it.tag || st == StatusDeleting || int(it.shard) >= len(rec.Shards) {
		return nil, errShardNotFound(id, it.stream, scope.Account)
	}
	if in.StreamARN != "" && in.StreamARN != rec.arn() {
		return nil, newError(CodeInvalidArgument,
			"StreamARN %s does not match the stream %s of the shard iterator.", in.StreamARN, rec.arn())
	}
	if in.DryRun {
		// Nothing is read, so the read rate is not charged and the
		// iterator leads nowhere new.
		return nil, s.dryRun(scope, it.stream)
	}
	sm := s.metrics.stream(rec)
	if sm != nil {
		defer func() { sm.getRecordsLatency.Observe(millis(time.Since(start))) }()
	}
	limit := in.Limit
	if limit <= 0 {
		limit = defaultGetRecords
	}
	limit = min(limit, maxGetRecords)

	if !s.throttle.readBegin(scope, rec, it.shard) {
		if sm != nil {
			sm.readThrottled(it.shard)
		}
		return nil, errShardRate(id, it.stream, scope.Account)
	}
	sh := &rec.Shards[it.shard]
	l, err := s.shardLog(ctx, rec, it.shard)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errShardNotFound(id, it.stream, scope.Account)
		}
		return nil, internal("get records", err)
	}
	res, err := l.Read(ctx, it.start, storage.ReadLimits{MaxRecords: limit, MaxBytes: maxGetRecordsBytes})
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errShardNotFound(id, it.stream, scope.Account)
		}
		if kerr := kmsError(err, rec); kerr != nil {
			return nil, kerr
		}
		return nil, internal("get records", err)
	}

	// Everything the page's records point into is lent to the caller
	// until out.Release: the read's buffers, the records' slice, their
	// sequence numbers' text.
	out := &GetRecordsOutput{read: res.Release, records: &s.recordSlices}
	var read int
	out.Records, read, out.MillisBehindLatest = readRecordsInto(s.recordSlices.Get(len(res.Records)), &out.nums, rec.shardSeq(it.shard), res)
	s.throttle.readEnd(scope, rec, it.shard, read)
	if sm != nil {
		var age int64
		if n := len(res.Records); n > 0 {
			age = max(0, s.clock().UnixMilli()-res.Records[n-1].ArrivalTime)
		}
		sm.getRecords(it.shard, len(res.Records), read, age)
	}
	if res.Sealed && !sh.open() {
		// The shard is closed and read to its end: no iterator follows,
		// the children do. A log sealed while the catalogue still shows
		// the shard open is a reshard between its steps (c) and (d): the
		// reader gets an iterator at the end and finds the children on a
		// later call.
		out.ChildShards = childShards(rec, sh)
		return out, nil
	}
	next := iterator{issued: now, tag: rec.Tag, shard: it.shard, start: storage.At(res.Next), stream: it.stream}
	out.NextShardIterator = encodeIterator(s.iterKey, scope, next)
	return out, nil
}

// dryRun is the answer to a request with DryRun set that passed every
// check: DryRunOperationException, or ThrottlingException beyond the
// stream's dry-run rate (see the package documentation).
func (s *Service) dryRun(scope Scope, name string) error {
	if err := s.throttle.dryRun(scope, name); err != nil {
		return err
	}
	return errDryRun()
}

// sealedBackoff paces a writer that found its shard sealed while the
// catalogue still routes to it: the reshard that sealed it records the
// children in a moment (step (d) in reshard.go), or a restart does. The
// pause starts at 1ms and doubles up to 50ms; ctx bounds the wait.
type sealedBackoff struct{ d time.Duration }

func (b *sealedBackoff) wait(ctx context.Context) error {
	b.d = min(max(2*b.d, time.Millisecond), 50*time.Millisecond)
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PutRecordInput is PutRecord's request. ExplicitHashKey and
// SequenceNumberForOrdering are empty when absent.
type PutRecordInput struct {
	Stream                    StreamRef
	PartitionKey              string
	ExplicitHashKey           string
	Data                      []byte
	SequenceNumberForOrdering string
	DryRun                    bool // see DryRun in the package documentation
}

// PutRecordOutput is PutRecord's result.
type PutRecordOutput struct {
	ShardID        string
	SequenceNumber string
	EncryptionType string
}

// PutRecordsEntry is one record of a PutRecords request.
type PutRecordsEntry struct {
	PartitionKey    string
	ExplicitHashKey string
	Data            []byte
}

// PutRecordsInput is PutRecords' request (1 to 500 entries, checked by the
// wire layer).
type PutRecordsInput struct {
	Stream  StreamRef
	Records []PutRecordsEntry
	DryRun  bool
}

// PutRecordsResult is the outcome of one entry, in request order: either
// SequenceNumber and ShardId, or ErrorCode and ErrorMessage.
type PutRecordsResult struct {
	SequenceNumber string
	ShardID        string
	ErrorCode      Code // zero on success
	ErrorMessage   string
}

// PutRecordsOutput is PutRecords' result.
type PutRecordsOutput struct {
	FailedRecordCount int
	Records           []PutRecordsResult
	EncryptionType    string
}

// GetRecordsInput is GetRecords' request. Limit is 10000 when zero.
// StreamARN, when given, must be the ARN of the iterator's stream.
type GetRecordsInput struct {
	ShardIterator string
	Limit         int
	StreamARN     string
	DryRun        bool
}

// Record is one data record as GetRecords returns it.
type Record struct {
	SequenceNumber              string
	ApproximateArrivalTimestamp time.Time // millisecond precision
	Data                        []byte
	PartitionKey                string
	EncryptionType              string // empty: not encrypted, omit
}

// GetRecordsOutput is GetRecords' result.
//
// Records is empty only when the iterator is at the tip of the shard: a read
// never returns an empty page while records exist beyond its position.
// NextShardIterator is empty once a closed shard has been read to its end;
// ChildShards then lists the shards that follow it.
// MillisBehindLatest is 0 when the response reaches the newest record of the
// shard; otherwise it is the arrival time of the newest record in the shard
// minus that of the last record returned, in milliseconds.
//
// The records lend memory that Release gives back for the next call's.
type GetRecordsOutput struct {
	Records            []Record
	NextShardIterator  string
	MillisBehindLatest int64
	ChildShards        []ChildShard

	// What Release gives back: the storage read's memory, the Records
	// slice to its pool and the sequence numbers' buffer.
	read    func()
	records *bufpool.Slices[Record]
	nums    *seqNumbers
}

// Release gives back the memory the records lend, for the next call to
// reuse: after it nothing may use Records, their Data or their sequence
// numbers (a copy of the numbers' strings included: they share the
// buffer). Calling it is optional, once; the API front end calls it once
// the answer is encoded.
func (o *GetRecordsOutput) Release() {
	if o.read != nil {
		o.read()
	}
	if o.records != nil {
		o.records.Put(o.Records)
	}
	if o.nums != nil {
		o.nums.release()
	}
	*o = GetRecordsOutput{}
}

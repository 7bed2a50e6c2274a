package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// soakKey is one partition key of a writer. Its records are written one
// after the other: the next only once the previous was acknowledged or
// given up as maybe stored, so that the order a reader must see them in
// is the order they were written in.
type soakKey struct {
	name    string
	hashKey *string // explicit hash key, or nil to hash the name
	log     *keyLog
	next    int       // number of the record being written
	retryAt time.Time // after a throttled attempt
	bo      backoff
}

// soakWriter writes records of its keys with PutRecords, one record per
// key per call, at rate records a second.
type soakWriter struct {
	s    *soak
	st   *soakStream
	keys []*soakKey
	rate float64
	on   *atomic.Bool // nil: always writing; else only while true
}

// newWriter returns a writer of n keys named prefix0, prefix1... in st, with
// explicit hash keys from hashKey (nil: none). The keys join st's ledger,
// so writers must be made before the stream's readers.
func (s *soak) newWriter(st *soakStream, prefix string, n int, rate float64, hashKey func() *string) *soakWriter {
	w := &soakWriter{s: s, st: st, rate: rate}
	for i := range n {
		k := &soakKey{
			name: fmt.Sprintf("%s%d", prefix, i),
			log:  newKeyLog(),
			// Throttled entries are tried again soon: a longer backoff
			// would keep a throttled shard's writer under its limit, and
			// the hot writer must stay over it to make the scaler split.
			bo: backoff{min: 50 * time.Millisecond, max: 500 * time.Millisecond},
		}
		if hashKey != nil {
			k.hashKey = hashKey()
		}
		st.keys[k.name] = k.log
		w.keys = append(w.keys, k)
	}
	return w
}

// randomHashKeys returns a function drawing hash keys below limit.
func randomHashKeys(limit *big.Int) func() *string {
	return func() *string {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		return aws.String(n.String())
	}
}

// run writes until the life is over, ctx is done or the stream is deleted.
func (w *soakWriter) run(ctx context.Context) {
	next := time.Now() // when the next call may go, at w.rate
	for {
		select {
		case <-w.s.stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if w.st.deleted.Load() {
			return
		}
		if w.on != nil && !w.on.Load() {
			w.s.pause(ctx, 100*time.Millisecond)
			next = time.Now()
			continue
		}
		now := time.Now()
		wake := now.Add(100 * time.Millisecond)
		var batch []*soakKey
		for _, k := range w.keys {
			if !k.retryAt.After(now) {
				batch = append(batch, k)
			} else if k.retryAt.Before(wake) {
				wake = k.retryAt
			}
		}
		if len(batch) == 0 {
			w.s.pause(ctx, time.Until(wake))
			continue
		}
		if !w.s.pause(ctx, time.Until(next)) {
			return
		}
		next = maxTime(next, time.Now()).Add(time.Duration(float64(len(batch)) / w.rate * float64(time.Second)))
		w.put(ctx, batch)
	}
}

// put writes the next record of each key of batch in one PutRecords call
// and notes what became of each.
func (w *soakWriter) put(ctx context.Context, batch []*soakKey) {
	s := w.s
	entries := make([]types.PutRecordsRequestEntry, len(batch))
	sent := time.Now()
	for i, k := range batch {
		k.log.send(k.next, sent)
		entries[i] = types.PutRecordsRequestEntry{
			Data:            recordData(w.st.gen, k.name, k.next, soakRecordSize),
			PartitionKey:    aws.String(k.name),
			ExplicitHashKey: k.hashKey,
		}
	}
	cctx, cancel := context.WithTimeout(ctx, soakCallTimeout)
	out, err := s.kc.PutRecords(cctx, &kinesis.PutRecordsInput{StreamName: aws.String(w.st.name), Records: entries})
	kind := classify(cctx, err)
	cancel()
	s.c.calls.Add(1)
	s.c.putCalls.Add(1)
	now := time.Now()
	retryAll := func(d time.Duration) {
		for _, k := range batch {
			k.retryAt = now.Add(d)
		}
	}
	// giveUp marks the batch as maybe stored: the answer was lost, so each
	// record may or may not be in the stream, and sending it again could
	// store it twice. The keys go on with their next records.
	giveUp := func() {
		for _, k := range batch {
			k.log.maybe(k.next)
			k.next++
		}
		s.c.maybe.Add(int64(len(batch)))
	}
	if err != nil {
		switch kind {
		case errThrottled:
			s.c.throttled.Add(int64(len(batch)))
			retryAll(batch[0].bo.next())
		case errRefused:
			// Never sent (the server is restarting): the same records
			// again.
			s.c.refused.Add(1)
			retryAll(250 * time.Millisecond)
		case errTransport, errCanceled:
			s.c.transport.Add(1)
			s.lost.add("PutRecords to %s: %v", w.st.name, err)
			giveUp()
		case errServer, errTimeout:
			s.unexpected(w.st, "PutRecords to %s: %v", w.st.name, err)
			giveUp()
		default:
			// The server refused the call (an API error before any
			// record was stored): the same records again, later.
			s.unexpected(w.st, "PutRecords to %s: %v", w.st.name, err)
			retryAll(time.Second)
		}
		return
	}
	if len(out.Records) != len(batch) {
		s.unexpected(w.st, "PutRecords to %s: %d results for %d records", w.st.name, len(out.Records), len(batch))
		giveUp()
		return
	}
	for i, r := range out.Records {
		k := batch[i]
		switch code := aws.ToString(r.ErrorCode); code {
		case "":
			k.log.ack(k.next, aws.ToString(r.SequenceNumber))
			k.next++
			k.bo.reset()
			k.retryAt = time.Time{}
			s.c.acked.Add(1)
		case "ProvisionedThroughputExceededException":
			s.c.throttled.Add(1)
			k.retryAt = now.Add(k.bo.next())
		default:
			// AWS does not store a failed entry, but an InternalFailure
			// is a server failing somewhere: the record may be stored.
			s.unexpected(w.st, "PutRecords to %s: entry failed with %s: %s", w.st.name, code, aws.ToString(r.ErrorMessage))
			k.log.maybe(k.next)
			k.next++
			s.c.maybe.Add(1)
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

package bench

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The soak's bookkeeping of records. Writers number each partition key's
// records 0, 1, 2... and put the stream generation, the key and the number
// in the record's data. The ledger keeps, per key, what became of each
// record (acknowledged, or "maybe" when the answer was lost); a verifier
// per reader (the polling readers of a stream, or one consumer) follows
// what that reader got, key by key. At the end every acknowledged record
// must have come to every reader exactly once and in order, or be old
// enough that retention may have removed it.

// recStatus is what the writer knows of a record.
type recStatus uint8

const (
	// recInFlight: sent, no answer yet. Once the writers are done, a
	// record still in flight is one whose last attempt was refused
	// (throttled, or the stream deleted): never stored.
	recInFlight recStatus = iota
	// recAcked: the server answered with a sequence number.
	recAcked
	// recMaybe: the answer was lost (connection broken, server killed,
	// InternalFailure), so the server may or may not have stored it. The
	// writer moves on to the next record and never sends this one again,
	// so it may be read at most once, or not at all.
	recMaybe
)

// recEntry is one record of a key.
type recEntry struct {
	// sent is the time (UnixNano) of the last send of the record: the
	// server's arrival time, from which retention counts, is no earlier.
	sent   int64
	seq    uint64 // hash of the acknowledged sequence number (seqHash)
	status recStatus
}

// seqHash hashes a sequence number, so that the ledger keeps 8 bytes per
// record instead of 56 digits; a changed sequence number goes unnoticed
// with probability 2^-64.
func seqHash(seq string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(seq))
	return h.Sum64()
}

// keyLog is the records of one partition key, by number. Only the key's
// writer changes it, one record at a time; readers look entries up.
type keyLog struct {
	mu        sync.Mutex
	recs      []recEntry
	lastAcked int // number of the last acknowledged record; -1 for none
}

func newKeyLog() *keyLog { return &keyLog{lastAcked: -1} }

// send notes that record n is being sent at t: a new record if n is the
// next number, or a new attempt at the last one.
func (k *keyLog) send(n int, t time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if n == len(k.recs) {
		k.recs = append(k.recs, recEntry{})
	}
	k.recs[n].sent = t.UnixNano()
}

// ack notes that record n was stored under sequence number seq.
func (k *keyLog) ack(n int, seq string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.recs[n].status = recAcked
	k.recs[n].seq = seqHash(seq)
	k.lastAcked = n
}

// maybe notes that record n may or may not have been stored.
func (k *keyLog) maybe(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.recs[n].status = recMaybe
}

// entry returns record n, or false if it was never sent.
func (k *keyLog) entry(n int) (recEntry, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if n < 0 || n >= len(k.recs) {
		return recEntry{}, false
	}
	return k.recs[n], true
}

// snapshot returns a copy of the records and the last acknowledged one.
func (k *keyLog) snapshot() ([]recEntry, int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]recEntry(nil), k.recs...), k.lastAcked
}

// recordData returns the data of record n of key in generation gen,
// padded with dots to size bytes: "gen key n ....".
func recordData(gen, key string, n, size int) []byte {
	b := make([]byte, 0, size)
	b = fmt.Appendf(b, "%s %s %d ", gen, key, n)
	for len(b) < size {
		b = append(b, '.')
	}
	return b
}

// parseRecordData is the inverse of recordData.
func parseRecordData(data []byte) (gen, key string, n int, ok bool) {
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "", "", 0, false
	}
	n, err := strconv.Atoi(f[2])
	if err != nil || n < 0 {
		return "", "", 0, false
	}
	return f[0], f[1], n, true
}

// gap is records [from, to) of a key that a reader went past without
// seeing: it read record to at time at. Whether each was lost or expired
// is decided at the end, when the writers' outcomes are all known.
type gap struct {
	from, to int
	at       int64 // UnixNano
}

// keyCursor is a reader's progress through one key's records.
type keyCursor struct {
	next int   // number of the next record expected
	gaps []gap // records skipped over
	// late holds the numbers of records in gaps that came after all, after
	// a later record: out of order.
	late map[int]bool
}

func (c *keyCursor) inGap(n int) bool {
	for _, g := range c.gaps {
		if n >= g.from && n < g.to {
			return true
		}
	}
	return false
}

// anomalyExamples bounds the anomalies a verifier describes in words.
const anomalyExamples = 5

// verifier checks what one reader got from one stream generation.
type verifier struct {
	name string // "poll", or "efo:" and the consumer's name
	gen  string
	keys map[string]*keyLog // the stream's, fixed before readers start

	mu      sync.Mutex
	cursors map[string]*keyCursor
	got     int64 // records delivered, anomalies included
	// Anomalies found on delivery.
	duplicates, outOfOrder, foreign, corrupt, seqMismatch int64
	examples                                              []string
}

func newVerifier(name, gen string, keys map[string]*keyLog) *verifier {
	v := &verifier{name: name, gen: gen, keys: keys, cursors: make(map[string]*keyCursor)}
	for k := range keys {
		v.cursors[k] = &keyCursor{}
	}
	return v
}

func (v *verifier) example(format string, args ...any) {
	if len(v.examples) < anomalyExamples {
		v.examples = append(v.examples, fmt.Sprintf(format, args...))
	}
}

// deliver takes one record the reader got at time at, from shard.
func (v *verifier) deliver(shard, partitionKey, seq string, data []byte, at time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.got++
	gen, key, n, ok := parseRecordData(data)
	switch {
	case !ok:
		v.corrupt++
		v.example("unreadable record %s in %s: %.40q", seq, shard, data)
		return
	case gen != v.gen:
		// A record of another stream generation: an iterator or a
		// sequence number of a deleted stream reached its successor.
		v.foreign++
		v.example("record %s of generation %s read from %s (generation %s)", seq, gen, shard, v.gen)
		return
	case key != partitionKey:
		v.corrupt++
		v.example("record %s in %s: data of key %s under partition key %s", seq, shard, key, partitionKey)
		return
	}
	log, c := v.keys[key], v.cursors[key]
	if log == nil {
		v.corrupt++
		v.example("record %s in %s: unknown key %s", seq, shard, key)
		return
	}
	e, sent := log.entry(n)
	if !sent {
		v.corrupt++
		v.example("record %s in %s: %s #%d was never written", seq, shard, key, n)
		return
	}
	// A record read before its writer saw the answer is still in flight
	// in the ledger; its sequence number cannot be compared then.
	if e.status == recAcked && e.seq != seqHash(seq) {
		v.seqMismatch++
		v.example("%s #%d read as %s in %s, not under the sequence number it was acknowledged with", key, n, seq, shard)
	}
	switch {
	case n == c.next:
		c.next++
	case n > c.next:
		c.gaps = append(c.gaps, gap{from: c.next, to: n, at: at.UnixNano()})
		c.next = n + 1
	case c.inGap(n) && !c.late[n]:
		if c.late == nil {
			c.late = make(map[int]bool)
		}
		c.late[n] = true
		v.outOfOrder++
		v.example("%s #%d read in %s after a later record of its key", key, n, shard)
	default:
		v.duplicates++
		v.example("%s #%d read again, as %s in %s", key, n, seq, shard)
	}
}

// read reports whether the reader got record n of key.
func (v *verifier) read(key string, n int) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	c := v.cursors[key]
	return c != nil && n < c.next && (!c.inGap(n) || c.late[n])
}

// maybeStats is what the readers of a stream got of the records whose
// write outcome was unknown.
type maybeStats struct {
	total int64
	// stored: read by every reader; absent: by none; partial: by some
	// only. A record some reader read was stored, so the readers that
	// missed it lost it: partial counts the misses.
	stored, absent, partial int64
	examples                []string
}

// maybeOutcomes checks the records of keys whose outcome was unknown
// against every reader of them.
func maybeOutcomes(keys map[string]*keyLog, readers []*verifier) maybeStats {
	var st maybeStats
	for key, log := range keys {
		recs, _ := log.snapshot()
		for n, e := range recs {
			if e.status != recMaybe {
				continue
			}
			st.total++
			var got []string
			for _, v := range readers {
				if v.read(key, n) {
					got = append(got, v.name)
				}
			}
			switch len(got) {
			case 0:
				st.absent++
			case len(readers):
				st.stored++
			default:
				st.partial += int64(len(readers) - len(got))
				if len(st.examples) < anomalyExamples {
					st.examples = append(st.examples, fmt.Sprintf("%s #%d (answer lost) read only by %s", key, n, strings.Join(got, ", ")))
				}
			}
		}
	}
	return st
}

// caughtUp reports whether the reader has got, or gone past, every
// acknowledged record of every key.
func (v *verifier) caughtUp() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for key, log := range v.keys {
		_, last := log.snapshot()
		if v.cursors[key].next <= last {
			return false
		}
	}
	return true
}

// ReaderResult is what one reader of a stream got, as the soak's result
// reports it.
type ReaderResult struct {
	Stream string `json:"stream"`
	Reader string `json:"reader"`
	// Checked is false for streams the soak deleted while they were read:
	// their records are not expected to all come back.
	Checked bool  `json:"checked"`
	Got     int64 `json:"got"` // records delivered, anomalies included
	// Of the acknowledged records: read exactly once, lost (not read and
	// younger than the retention period when the reader went past them
	// or stopped), expired (not read but old enough that retention may
	// have removed them).
	AckedRead int64 `json:"acked_read"`
	Lost      int64 `json:"lost"`
	Expired   int64 `json:"expired"`
	// Of the records whose outcome the writer never learnt: read, or not.
	MaybeRead   int64 `json:"maybe_read"`
	MaybeAbsent int64 `json:"maybe_absent"`
	// Anomalies: a record read twice; read after a later record of its
	// key; of another stream generation; unreadable, under the wrong
	// partition key or never written; read under a sequence number other
	// than the one it was acknowledged with; read though the server refused
	// it.
	Duplicates    int64    `json:"duplicates"`
	OutOfOrder    int64    `json:"out_of_order"`
	Foreign       int64    `json:"foreign"`
	Corrupt       int64    `json:"corrupt"`
	SeqMismatch   int64    `json:"seq_mismatch"`
	StoredRefused int64    `json:"stored_refused"`
	Examples      []string `json:"examples,omitempty"`
}

// result classifies every record once the writers are done: each record
// a gap or the tail (after the last one read, at time end) leaves out is
// lost if it was acknowledged and younger than retention then, expired if
// older, and "maybe absent" if its outcome was unknown.
func (v *verifier) result(stream string, checked bool, end time.Time, retention time.Duration) ReaderResult {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := ReaderResult{
		Stream: stream, Reader: v.name, Checked: checked, Got: v.got,
		Duplicates: v.duplicates, OutOfOrder: v.outOfOrder, Foreign: v.foreign,
		Corrupt: v.corrupt, SeqMismatch: v.seqMismatch,
	}
	r.Examples = append(r.Examples, v.examples...)
	lostExample := func(key string, n int, e recEntry, at int64) {
		if checked && len(r.Examples) < anomalyExamples {
			r.Examples = append(r.Examples, fmt.Sprintf("%s #%d acknowledged, never read: sent %.1fs before the reader went past it or stopped",
				key, n, time.Duration(at-e.sent).Seconds()))
		}
	}
	classify := func(key string, n int, e recEntry, at int64, read bool) {
		switch {
		case read && e.status == recAcked:
			r.AckedRead++
		case read && e.status == recMaybe:
			r.MaybeRead++
		case read:
			r.StoredRefused++
			if len(r.Examples) < anomalyExamples {
				r.Examples = append(r.Examples, fmt.Sprintf("%s #%d read, though its last write was refused", key, n))
			}
		case e.status == recMaybe:
			r.MaybeAbsent++
		case e.status == recInFlight:
			// Refused, never stored: nothing to read.
		case time.Duration(at-e.sent) > retention:
			r.Expired++
		default:
			r.Lost++
			lostExample(key, n, e, at)
		}
	}
	for key, log := range v.keys {
		recs, _ := log.snapshot()
		c := v.cursors[key]
		// Records before next were read unless a gap left them out.
		gapAt := make(map[int]int64)
		for _, g := range c.gaps {
			for n := g.from; n < g.to && n < len(recs); n++ {
				gapAt[n] = g.at
			}
		}
		for n := 0; n < len(recs); n++ {
			if n >= c.next {
				classify(key, n, recs[n], end.UnixNano(), false)
				continue
			}
			at, skipped := gapAt[n]
			classify(key, n, recs[n], at, !skipped || c.late[n])
		}
	}
	return r
}

package consumer

import (
	"container/heap"
	"errors"
	"sync"
	"time"
)

// Merge restores each producer's order across the shards of a stream
// (the answer to seed 000: order is kept per shard by Kinesis and per
// key by the producer, but a producer's records over all its keys reach
// a consumer through many shards at different speeds).
//
// Records that carry an ID (Tributary's producer, see kpl.ID) are held
// until every record of the same producer with a smaller sequence number
// has been delivered, then delivered in sequence order. A record missing
// for good (never stored, or trimmed) would hold the rest forever, so the
// wait is bounded: once the oldest record held has waited MaxHold, or
// more than MaxHeld records are held, the records before it are given up
// as a gap (reported to OnGap) and delivery goes on. A record of a gap
// that arrives after all is delivered out of order and counted Late; a
// record already delivered (a copy the producer sent again) is dropped and
// counted. Records without an ID are delivered at once.
//
// Merge starts where a producer's records start: the first records seen
// of a producer are held MaxHold (or until MaxHeld) before the smallest
// sequence number among them is taken for the first; what came before it
// is not reported as a gap.
type Merge struct {
	cfg MergeConfig

	mu        sync.Mutex
	producers map[string]*producerQueue
	held      int
	stats     MergeStats
	closed    bool
	stop      chan struct{}
	done      chan struct{}
}

// MergeConfig configures a Merge. Deliver is required.
type MergeConfig struct {
	// Deliver receives the records in order, one call at a time.
	Deliver func(Record)
	// OnGap hears of every gap given up on; optional.
	OnGap func(Gap)
	// MaxHeld bounds the records held; default 100,000.
	MaxHeld int
	// MaxHold bounds how long a record waits for a missing one before
	// it; default 10 s.
	MaxHold time.Duration
	// Now is the clock; nil means time.Now. Tests pass their own.
	Now func() time.Time
}

// Gap is a run of a producer's sequence numbers given up on: [From, To).
type Gap struct {
	Producer string
	From, To uint64
	// Full is true when the gap was given up because MaxHeld records
	// were held, false when the oldest had waited MaxHold.
	Full bool
}

// MergeStats counts what a Merge did.
type MergeStats struct {
	Delivered  int64
	Held       int
	Gaps       int64
	Missing    int64 // sequence numbers in the gaps
	Late       int64 // records of a gap that came after it was given up
	Duplicates int64
	// MaxHoldTime is the longest a record was held.
	MaxHoldTime time.Duration
}

type producerQueue struct {
	name    string
	next    uint64 // the sequence number to deliver next; 0 before the start is known
	started time.Time
	held    heldRecords
	heldSeq map[uint64]bool // the sequence numbers in held
	gaps    []Gap           // the last gaps given up, to tell late records from copies
}

type heldRecord struct {
	r  Record
	at time.Time
}

// heldRecords is a min-heap by sequence number.
type heldRecords []heldRecord

func (h heldRecords) Len() int           { return len(h) }
func (h heldRecords) Less(i, j int) bool { return h[i].r.ID.Seq < h[j].r.ID.Seq }
func (h heldRecords) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *heldRecords) Push(x any)        { *h = append(*h, x.(heldRecord)) }
func (h *heldRecords) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

const maxGapsRemembered = 64

// NewMerge starts a Merge; Close stops it.
func NewMerge(cfg MergeConfig) (*Merge, error) {
	if cfg.Deliver == nil {
		return nil, errors.New("consumer: MergeConfig.Deliver is required")
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = 100_000
	}
	if cfg.MaxHold <= 0 {
		cfg.MaxHold = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Merge{cfg: cfg, producers: make(map[string]*producerQueue), stop: make(chan struct{}), done: make(chan struct{})}
	go m.tick()
	return m, nil
}

// tick gives up on what waited too long even when no record comes.
func (m *Merge) tick() {
	defer close(m.done)
	t := time.NewTicker(max(m.cfg.MaxHold/20, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.mu.Lock()
			m.release(m.cfg.Now())
			m.mu.Unlock()
		}
	}
}

// Add takes a record, from any goroutine.
func (m *Merge) Add(r Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	now := m.cfg.Now()
	if !r.HasID {
		m.deliver(r, now, now)
		m.release(now)
		return
	}
	q := m.producers[r.ID.Producer]
	if q == nil {
		q = &producerQueue{name: r.ID.Producer, started: now, heldSeq: make(map[uint64]bool)}
		m.producers[r.ID.Producer] = q
	}
	seq := r.ID.Seq
	switch {
	case q.next != 0 && seq < q.next:
		if q.late(seq) {
			m.stats.Late++
			m.deliver(r, now, now)
		} else {
			m.stats.Duplicates++
		}
		return
	case q.heldSeq[seq]:
		m.stats.Duplicates++
		return
	case seq == q.next:
		m.deliver(r, now, now)
		q.next++
		m.drain(q, now)
	default:
		heap.Push(&q.held, heldRecord{r, now})
		q.heldSeq[seq] = true
		m.held++
	}
	m.release(now)
}

// late reports whether seq lies in one of the last gaps given up on.
func (q *producerQueue) late(seq uint64) bool {
	for _, g := range q.gaps {
		if g.From <= seq && seq < g.To {
			return true
		}
	}
	return false
}

// drain delivers q's held records that are next in sequence.
func (m *Merge) drain(q *producerQueue, now time.Time) {
	for len(q.held) > 0 && q.held[0].r.ID.Seq <= q.next {
		h := heap.Pop(&q.held).(heldRecord)
		delete(q.heldSeq, h.r.ID.Seq)
		m.held--
		if h.r.ID.Seq < q.next {
			m.stats.Duplicates++
			continue
		}
		m.deliver(h.r, h.at, now)
		q.next++
	}
}

// release gives up the gaps before records that waited MaxHold, and
// before the oldest records while more than MaxHeld are held.
func (m *Merge) release(now time.Time) {
	for {
		var oldest *producerQueue
		for _, q := range m.producers {
			if len(q.held) == 0 {
				continue
			}
			if oldest == nil || q.waitingSince().Before(oldest.waitingSince()) {
				oldest = q
			}
		}
		if oldest == nil {
			return
		}
		full := m.held > m.cfg.MaxHeld
		if !full && now.Sub(oldest.waitingSince()) < m.cfg.MaxHold {
			return
		}
		head := oldest.held[0].r.ID.Seq
		if oldest.next != 0 {
			g := Gap{Producer: oldest.name, From: oldest.next, To: head, Full: full}
			m.stats.Gaps++
			m.stats.Missing += int64(head - oldest.next)
			oldest.gaps = append(oldest.gaps, g)
			if len(oldest.gaps) > maxGapsRemembered {
				oldest.gaps = oldest.gaps[1:]
			}
			if m.cfg.OnGap != nil {
				m.cfg.OnGap(g)
			}
		}
		oldest.next = head
		m.drain(oldest, now)
	}
}

// waitingSince is when q's wait began: its first record's arrival while
// its start is unknown, else the arrival of the record at the head.
func (q *producerQueue) waitingSince() time.Time {
	if q.next == 0 {
		return q.started
	}
	return q.held[0].at
}

func (m *Merge) deliver(r Record, at, now time.Time) {
	if d := now.Sub(at); d > m.stats.MaxHoldTime {
		m.stats.MaxHoldTime = d
	}
	m.stats.Delivered++
	m.cfg.Deliver(r)
}

// Stats returns the counts so far.
func (m *Merge) Stats() MergeStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Held = m.held
	return s
}

// Close delivers what is held, in order, giving up on the gaps between,
// and stops. Records added after Close are ignored.
func (m *Merge) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	saved := m.cfg.MaxHeld
	m.cfg.MaxHeld = -1 // everything held is over the bound
	m.release(m.cfg.Now())
	m.cfg.MaxHeld = saved
	m.mu.Unlock()
	close(m.stop)
	<-m.done
}

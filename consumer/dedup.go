package consumer

// seenIDs remembers the IDs of the last records of a shard, per producer,
// so that a copy the producer sent again (after a lost answer, into AWS,
// which stores both) is dropped. Tributary stores such a copy only once
// (docs/producer.md); against AWS this is where copies go.
//
// A copy follows its first within the producer's retry time, with few of
// the same producer's records between them in the same shard (the
// producer resends before sending anything after it to that shard), so
// the last seenPerProducer IDs of each producer suffice. A copy that lands
// in another shard than its first (a reshard between the two) is not
// recognised here.
type seenIDs struct {
	producers map[string]*idRing
}

const seenPerProducer = 4096

type idRing struct {
	seqs [seenPerProducer]uint64
	set  map[uint64]struct{}
	next int
}

// dropCopies returns batch without the records seen before, reusing its
// array, and how many it dropped.
func (s *seenIDs) dropCopies(batch []Record) ([]Record, int) {
	out := batch[:0]
	dropped := 0
	for _, r := range batch {
		if r.HasID && s.seen(r.ID.Producer, r.ID.Seq) {
			dropped++
			continue
		}
		out = append(out, r)
	}
	return out, dropped
}

// seen reports whether (producer, seq) was seen, and remembers it.
func (s *seenIDs) seen(producer string, seq uint64) bool {
	if s.producers == nil {
		s.producers = make(map[string]*idRing)
	}
	r := s.producers[producer]
	if r == nil {
		r = &idRing{set: make(map[uint64]struct{})}
		s.producers[producer] = r
	}
	if _, ok := r.set[seq]; ok {
		return true
	}
	if old := r.seqs[r.next]; old != 0 {
		delete(r.set, old)
	}
	r.seqs[r.next] = seq
	r.set[seq] = struct{}{}
	r.next = (r.next + 1) % seenPerProducer
	return false
}

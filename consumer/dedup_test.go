package consumer

import (
	"fmt"
	"testing"

	"github.com/tributary-io/tributary/kpl"
)

func TestSeenIDs(t *testing.T) {
	r := func(p string, seq uint64) Record {
		return Record{Data: fmt.Appendf(nil, "%s.%d", p, seq), ID: kpl.ID{Producer: p, Seq: seq}, HasID: true}
	}
	var s seenIDs
	batch, n := s.dropCopies([]Record{r("p", 1), r("p", 2), {Data: []byte("plain")}, r("q", 1)})
	if n != 0 || len(batch) != 4 {
		t.Fatalf("first batch: dropped %d, kept %d", n, len(batch))
	}
	// A copy of p.1-2 (an aggregate sent again), a plain record twice
	// (no ID: never dropped), and new records.
	batch, n = s.dropCopies([]Record{r("p", 1), r("p", 2), {Data: []byte("plain")}, r("p", 3), r("q", 2)})
	var kept []string
	for _, x := range batch {
		kept = append(kept, string(x.Data))
	}
	if n != 2 || fmt.Sprint(kept) != "[plain p.3 q.2]" {
		t.Errorf("second batch: dropped %d, kept %v; want 2 and [plain p.3 q.2]", n, kept)
	}
	// The window is bounded: after seenPerProducer newer records, p.1 is
	// forgotten.
	for seq := uint64(4); seq < 4+seenPerProducer; seq++ {
		s.seen("p", seq)
	}
	if _, n = s.dropCopies([]Record{r("p", 1)}); n != 0 {
		t.Errorf("p.1, %d records later, was still remembered", seenPerProducer)
	}
	if len(s.producers["p"].set) != seenPerProducer {
		t.Errorf("%d IDs remembered, want %d", len(s.producers["p"].set), seenPerProducer)
	}
}

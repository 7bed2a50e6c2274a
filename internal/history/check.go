package history

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is a kind of violation of the log model.
type Kind string

// The violations Check reports; the package doc says why they suffice.
const (
	// Lost: an acknowledged record is missing from the final read.
	Lost Kind = "lost"
	// Duplicated: a record is in the final read more than once.
	Duplicated Kind = "duplicated"
	// Misplaced: an acknowledged record is in the final read once, but
	// in another shard or at another position than acknowledged.
	Misplaced Kind = "misplaced"
	// Order: positions do not strictly increase within a read, or a
	// read returned a position not past the one it continued from.
	Order Kind = "order"
	// ReadLost: a reader saw a record the final read lacks.
	ReadLost Kind = "read-lost"
	// ReadMoved: a reader saw a record in another shard or at another
	// position than the final read has it.
	ReadMoved Kind = "read-moved"
	// StaleRead: a read that began after a record's acknowledgement and
	// covered its position did not return it.
	StaleRead Kind = "stale-read"
	// FailedButStored: a write answered with a definite error (Definite)
	// was stored.
	FailedButStored Kind = "failed-but-stored"
	// Phantom: a read returned a record no write sent.
	Phantom Kind = "phantom"
)

// maxExamples bounds the examples kept per kind of violation.
const maxExamples = 5

// Violation counts the violations of one kind and describes the first.
type Violation struct {
	Kind     Kind
	Count    int
	Examples []string
}

// Stats counts what a history holds.
type Stats struct {
	Writes, Acknowledged, Failed, Unknown int
	// UnknownStored counts the writes of unknown outcome that the final
	// read has (stored despite the lost answer).
	UnknownStored int
	// Reads counts the reads other than the final ones, ReadRecords the
	// records they returned, FinalRecords those of the final reads.
	Reads, ReadRecords, FinalRecords int
}

// Result is Check's verdict.
type Result struct {
	Stats      Stats
	Violations []Violation // in the order of the Kind constants
}

// OK reports whether the history showed no violation.
func (r Result) OK() bool { return len(r.Violations) == 0 }

// Count returns the number of violations of kind k.
func (r Result) Count(k Kind) int {
	for _, v := range r.Violations {
		if v.Kind == k {
			return v.Count
		}
	}
	return 0
}

// String summarizes r: the counts, then each violation with its examples.
func (r Result) String() string {
	var b strings.Builder
	s := r.Stats
	fmt.Fprintf(&b, "%d writes (%d acknowledged, %d failed, %d unknown of which %d stored), %d reads of %d records, %d records in the final read",
		s.Writes, s.Acknowledged, s.Failed, s.Unknown, s.UnknownStored, s.Reads, s.ReadRecords, s.FinalRecords)
	if r.OK() {
		b.WriteString(": no violation")
	}
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "\n%s: %d", v.Kind, v.Count)
		for _, e := range v.Examples {
			fmt.Fprintf(&b, "\n  %s", e)
		}
	}
	return b.String()
}

// place is where a record is: a shard of a stream and a position in it.
type place struct {
	stream, shard, seq string
}

func (p place) String() string { return p.shard + "/" + p.seq }

// recordKey identifies a record: its stream and its data.
type recordKey struct {
	stream, data string
}

// shardKey identifies a shard's log.
type shardKey struct {
	stream, shard string
}

// checker accumulates violations.
type checker struct {
	h          History
	byKind     map[Kind]*Violation
	writes     map[recordKey]*Write
	final      map[shardKey][]Seen
	shards     []shardKey            // the keys of final, in the order of h.Final
	finalPlace map[recordKey][]place // every place the final read has the record at
	stats      Stats
}

// Check checks h against the log model and reports every violation. It
// returns an error, and no verdict, when h itself is malformed: two
// writes with the same data in one stream, a sequence number that is not
// a decimal number.
func Check(h History) (Result, error) {
	c := &checker{
		h:          h,
		byKind:     map[Kind]*Violation{},
		writes:     map[recordKey]*Write{},
		final:      map[shardKey][]Seen{},
		finalPlace: map[recordKey][]place{},
	}
	if err := c.index(); err != nil {
		return Result{}, err
	}
	c.checkOrder()
	c.checkWrites()
	c.checkReads()
	var res Result
	res.Stats = c.stats
	for _, k := range []Kind{Lost, Duplicated, Misplaced, Order, ReadLost, ReadMoved, StaleRead, FailedButStored, Phantom} {
		if v := c.byKind[k]; v != nil {
			res.Violations = append(res.Violations, *v)
		}
	}
	return res, nil
}

func (c *checker) report(k Kind, format string, args ...any) {
	v := c.byKind[k]
	if v == nil {
		v = &Violation{Kind: k}
		c.byKind[k] = v
	}
	v.Count++
	if len(v.Examples) < maxExamples {
		v.Examples = append(v.Examples, fmt.Sprintf(format, args...))
	}
}

// index validates h and builds the maps the checks use.
func (c *checker) index() error {
	for i := range c.h.Writes {
		w := &c.h.Writes[i]
		k := recordKey{w.Stream, string(w.Data)}
		if prev := c.writes[k]; prev != nil {
			return fmt.Errorf("history: writes %d and %d send the same data %s to stream %s; records are identified by their data", prev.ID, w.ID, quote(w.Data), w.Stream)
		}
		c.writes[k] = w
		c.stats.Writes++
		switch w.Outcome {
		case Acknowledged:
			c.stats.Acknowledged++
			if err := validSeq(w.SequenceNumber); err != nil {
				return fmt.Errorf("history: write %d: %w", w.ID, err)
			}
		case Failed:
			c.stats.Failed++
		case Unknown:
			c.stats.Unknown++
		default:
			return fmt.Errorf("history: write %d: outcome %q", w.ID, w.Outcome)
		}
	}
	for _, reads := range [][]Read{c.h.Reads, c.h.Final} {
		for _, r := range reads {
			if r.After != "" {
				if err := validSeq(r.After); err != nil {
					return fmt.Errorf("history: %s read of %s continues after: %w", r.Kind, r.ShardID, err)
				}
			}
			for _, s := range r.Records {
				if err := validSeq(s.SequenceNumber); err != nil {
					return fmt.Errorf("history: %s read of %s: %w", r.Kind, r.ShardID, err)
				}
			}
		}
	}
	for _, r := range c.h.Final {
		k := shardKey{r.Stream, r.ShardID}
		if _, ok := c.final[k]; !ok {
			c.shards = append(c.shards, k)
		}
		c.final[k] = append(c.final[k], r.Records...)
		for _, s := range r.Records {
			rk := recordKey{r.Stream, string(s.Data)}
			c.finalPlace[rk] = append(c.finalPlace[rk], place{r.Stream, r.ShardID, s.SequenceNumber})
		}
		c.stats.FinalRecords += len(r.Records)
	}
	c.stats.Reads = len(c.h.Reads)
	for _, r := range c.h.Reads {
		c.stats.ReadRecords += len(r.Records)
	}
	return nil
}

// checkOrder checks that positions strictly increase in every read and
// in every shard's final read.
func (c *checker) checkOrder() {
	for _, r := range c.h.Reads {
		c.orderOf(r.Kind+" read", r.Stream, r.ShardID, r.After, r.Records)
	}
	for _, k := range c.shards {
		c.orderOf("final read", k.stream, k.shard, "", c.final[k])
	}
}

func (c *checker) orderOf(what, stream, shard, after string, recs []Seen) {
	prev := after
	for _, s := range recs {
		if prev != "" && cmpSeq(s.SequenceNumber, prev) <= 0 {
			c.report(Order, "%s of %s in stream %s returned %s after %s", what, shard, stream, s.SequenceNumber, prev)
		}
		prev = s.SequenceNumber
	}
}

// checkWrites checks every write against the final read.
func (c *checker) checkWrites() {
	for i := range c.h.Writes {
		w := &c.h.Writes[i]
		places := c.finalPlace[recordKey{w.Stream, string(w.Data)}]
		if len(places) > 1 {
			c.report(Duplicated, "write %d (%s) of %s is in the final read %d times: %v", w.ID, w.Outcome, quote(w.Data), len(places), places)
		}
		switch w.Outcome {
		case Acknowledged:
			acked := place{w.Stream, w.ShardID, w.SequenceNumber}
			switch {
			case len(places) == 0:
				why := ""
				if _, read := c.final[shardKey{w.Stream, w.ShardID}]; !read {
					why = " (the final read has nothing of that shard)"
				}
				c.report(Lost, "write %d of %s, acknowledged at %s in stream %s, is missing from the final read%s", w.ID, quote(w.Data), acked, w.Stream, why)
			case len(places) == 1 && places[0] != acked:
				c.report(Misplaced, "write %d of %s, acknowledged at %s, is at %s in the final read", w.ID, quote(w.Data), acked, places[0])
			}
		case Failed:
			if len(places) > 0 && Definite(w.ErrorCode) {
				c.report(FailedButStored, "write %d of %s failed with %s but is at %s in the final read", w.ID, quote(w.Data), w.ErrorCode, places[0])
			}
			if len(places) > 0 && !Definite(w.ErrorCode) {
				// Recorded as failed with an error that does not say: it
				// counts as of unknown outcome.
				c.stats.UnknownStored++
			}
		case Unknown:
			if len(places) > 0 {
				c.stats.UnknownStored++
			}
		}
	}
	for _, k := range c.shards {
		for _, s := range c.final[k] {
			if c.writes[recordKey{k.stream, string(s.Data)}] == nil {
				c.report(Phantom, "the final read has %s at %s/%s in stream %s, which no write sent", quote(s.Data), k.shard, s.SequenceNumber, k.stream)
			}
		}
	}
}

// checkReads checks every read against the final read and the
// acknowledgements that preceded it.
func (c *checker) checkReads() {
	// The acknowledged writes of each shard, by position, for the
	// stale-read check.
	acked := map[shardKey][]*Write{}
	for i := range c.h.Writes {
		if w := &c.h.Writes[i]; w.Outcome == Acknowledged {
			k := shardKey{w.Stream, w.ShardID}
			acked[k] = append(acked[k], w)
		}
	}
	for _, ws := range acked {
		slices.SortFunc(ws, func(a, b *Write) int { return cmpSeq(a.SequenceNumber, b.SequenceNumber) })
	}
	for _, r := range c.h.Reads {
		seen := make(map[string]bool, len(r.Records))
		for _, s := range r.Records {
			rk := recordKey{r.Stream, string(s.Data)}
			seen[string(s.Data)] = true
			at := place{r.Stream, r.ShardID, s.SequenceNumber}
			w := c.writes[rk]
			places := c.finalPlace[rk]
			switch {
			case w == nil:
				c.report(Phantom, "a %s read of %s in stream %s returned %s at %s, which no write sent", r.Kind, r.ShardID, r.Stream, quote(s.Data), s.SequenceNumber)
			case len(places) == 0:
				c.report(ReadLost, "a %s read returned write %d (%s) of %s at %s; the final read lacks it", r.Kind, w.ID, w.Outcome, quote(s.Data), at)
			case !slices.Contains(places, at):
				c.report(ReadMoved, "a %s read returned write %d of %s at %s; the final read has it at %v", r.Kind, w.ID, quote(s.Data), at, places)
			}
		}
		if len(r.Records) == 0 {
			continue
		}
		// The read is a contiguous run of the log, the positions past
		// After up to its last record: every record acknowledged in that
		// range before the read began must be in it.
		last := r.Records[len(r.Records)-1].SequenceNumber
		ws := acked[shardKey{r.Stream, r.ShardID}]
		from := 0
		if r.After != "" {
			from, _ = slices.BinarySearchFunc(ws, r.After, func(w *Write, seq string) int { return cmpSeq(w.SequenceNumber, seq) })
		}
		for _, w := range ws[from:] {
			if cmpSeq(w.SequenceNumber, last) >= 0 {
				break
			}
			if r.After != "" && cmpSeq(w.SequenceNumber, r.After) == 0 {
				continue // not past After
			}
			if w.End.Before(r.Start) && !seen[string(w.Data)] {
				c.report(StaleRead, "a %s read of %s from after %q, begun %s after write %d of %s was acknowledged at %s, returned positions up to %s without it",
					r.Kind, r.ShardID, r.After, r.Start.Sub(w.End), w.ID, quote(w.Data), w.SequenceNumber, last)
			}
		}
	}
}

// validSeq checks that s is a sequence number: a decimal number without
// leading zeros, which cmpSeq orders.
func validSeq(s string) error {
	if s == "" {
		return fmt.Errorf("empty sequence number")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return fmt.Errorf("sequence number %q is not a decimal number", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return fmt.Errorf("sequence number %q has leading zeros", s)
	}
	return nil
}

// cmpSeq compares two sequence numbers validSeq accepted: numbers of up
// to 128 bits, compared by length and then digit by digit, without
// parsing.
func cmpSeq(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// quote prints a record's data for a report, cut short.
func quote(data []byte) string {
	const max = 40
	if len(data) > max {
		return fmt.Sprintf("%q...", data[:max])
	}
	return fmt.Sprintf("%q", data)
}

package e2e_test

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// event is one line of a worker's output (see appOutput).
type event struct {
	kind   byte
	ns     int64
	worker string
	idx    int // the line's index in its file
	shard  string
	seq    string
	sub    int64
	text   string // R: the record's data; F: the error; S: how it ended
}

// before orders events by time; within one file, by line.
func (e *event) compare(o *event) int {
	return cmp.Or(cmp.Compare(e.ns, o.ns), cmp.Compare(e.worker, o.worker), cmp.Compare(e.idx, o.idx))
}

// outFile reads a worker's output as it grows.
type outFile struct {
	worker  string
	path    string
	off     int64
	partial []byte
	events  []event
}

// poll reads the lines written since the last poll.
func (f *outFile) poll() error {
	fh, err := os.Open(f.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := fh.Seek(f.off, io.SeekStart); err != nil {
		return err
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		return err
	}
	f.off += int64(len(data))
	buf := append(f.partial, data...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		e, err := parseEvent(string(buf[:i]))
		if err != nil {
			return fmt.Errorf("%s line %d: %w", f.path, len(f.events)+1, err)
		}
		e.worker, e.idx = f.worker, len(f.events)
		f.events = append(f.events, e)
		buf = buf[i+1:]
	}
	f.partial = append([]byte(nil), buf...)
	return nil
}

// midBatch reports whether a P line was written: a processor of the
// worker has written half a batch and holds there.
func (f *outFile) midBatch() bool {
	return slices.ContainsFunc(f.events, func(e event) bool { return e.kind == 'P' })
}

func parseEvent(line string) (event, error) {
	fields := strings.Split(line, "\t")
	if len(fields) < 4 || len(fields[0]) != 1 {
		return event{}, fmt.Errorf("malformed %q", line)
	}
	e := event{kind: fields[0][0], shard: fields[2]}
	var err error
	if e.ns, err = strconv.ParseInt(fields[1], 10, 64); err != nil {
		return e, fmt.Errorf("malformed %q", line)
	}
	want := map[byte]int{'I': 5, 'R': 6, 'C': 5, 'F': 4, 'S': 4, 'P': 4}[e.kind]
	if want == 0 || len(fields) < want || (e.kind != 'F' && len(fields) != want) {
		return e, fmt.Errorf("malformed %q", line)
	}
	switch e.kind {
	case 'I', 'R', 'C':
		e.seq = fields[3]
		if e.sub, err = strconv.ParseInt(fields[4], 10, 64); err != nil {
			return e, fmt.Errorf("malformed %q", line)
		}
		if e.kind == 'R' {
			e.text = fields[5]
		}
	default:
		e.text = strings.Join(fields[3:], "\t")
	}
	return e, nil
}

// report is what the outputs show.
type report struct {
	processings int // records processed, copies included
	missing     []string
	unexpected  []string
	// inFlight counts the records the killed worker processed after its
	// last checkpoint of their shard: in flight at the kill. Of them,
	// inFlightAgain were processed again by another worker.
	inFlight, inFlightAgain int
	// Records processed more than once, by cause: the kill (records in
	// flight at it, processed again once by another worker), or anything
	// else (which includes every graceful move).
	killDups, otherDups int
	otherExamples       []string
	// storedTwice counts records processed at two positions of the
	// stream: stored twice.
	storedTwice int
	// Checkpoints that failed, and records processed by a processor that
	// ended (or a worker that exited, other than the one killed) without
	// checkpointing them.
	checkpointFailures, unCheckpointed int
	outOfOrderKeys                     int
	orderExample                       string
	// moves counts how processors of a shard followed one another: after
	// a graceful shutdown on another worker, after the kill, after a lost
	// lease, or the first of a shard.
	moves map[string]int
	// failover is the longest time from the kill to the start of a
	// processor on one of the killed worker's shards.
	failover time.Duration
}

// analyze checks the outputs of every worker: keys×perKey records
// "key-K:N" put in N order per key; victim was killed at killNs.
func analyze(files []*outFile, victim string, killNs int64, keys, perKey int) report {
	rep := report{moves: map[string]int{}}
	byData := map[string][]*event{}
	inFlight := map[*event]bool{}
	var lifecycle []*event // I and S events, and the kill's ends
	for _, f := range files {
		open := map[string][]*event{} // records since the shard's last checkpoint
		held := map[string]bool{}     // shards with a processor running
		for i := range f.events {
			e := &f.events[i]
			switch e.kind {
			case 'R':
				rep.processings++
				byData[e.text] = append(byData[e.text], e)
				open[e.shard] = append(open[e.shard], e)
			case 'C':
				open[e.shard] = nil
			case 'F':
				rep.checkpointFailures++
			case 'I':
				held[e.shard] = true
				rep.unCheckpointed += len(open[e.shard])
				open[e.shard] = nil
				lifecycle = append(lifecycle, e)
			case 'S':
				held[e.shard] = false
				rep.unCheckpointed += len(open[e.shard])
				open[e.shard] = nil
				lifecycle = append(lifecycle, e)
			}
		}
		for _, recs := range open {
			if f.worker == victim {
				for _, e := range recs {
					inFlight[e] = true
				}
			} else {
				rep.unCheckpointed += len(recs)
			}
		}
		if f.worker == victim {
			for shard, h := range held {
				if h {
					lifecycle = append(lifecycle, &event{kind: 'S', ns: killNs, worker: victim, idx: len(f.events), shard: shard, text: "killed"})
				}
			}
		}
	}
	rep.inFlight = len(inFlight)

	// Every record, once; twice only when in flight at the kill.
	for k := range keys {
		for n := range perKey {
			if _, ok := byData[fmt.Sprintf("key-%d:%d", k, n)]; !ok {
				rep.missing = append(rep.missing, fmt.Sprintf("key-%d:%d", k, n))
			}
		}
	}
	first := map[string]*event{}
	for data, ps := range byData {
		slices.SortFunc(ps, (*event).compare)
		first[data] = ps[0]
		if k, n, ok := parseData(data); !ok || k >= keys || n >= perKey {
			rep.unexpected = append(rep.unexpected, data)
		}
		positions := map[string]bool{}
		for _, p := range ps {
			positions[fmt.Sprint(p.shard, " ", p.seq, " ", p.sub)] = true
		}
		if len(positions) > 1 {
			rep.storedTwice++
		}
		if inFlight[ps[0]] && len(ps) > 1 && ps[1].worker != victim {
			rep.inFlightAgain++
		}
		switch {
		case len(ps) == 1:
		case len(ps) == 2 && inFlight[ps[0]] && ps[1].worker != victim:
			rep.killDups++
		default:
			rep.otherDups += len(ps) - 1
			if len(rep.otherExamples) < 5 {
				var where []string
				for _, p := range ps {
					where = append(where, fmt.Sprintf("%s by %s on %s at %s/%d (line %d)", time.Unix(0, p.ns).Format("15:04:05.000000"), p.worker, p.shard, p.seq, p.sub, p.idx+1))
				}
				rep.otherExamples = append(rep.otherExamples, data+": "+strings.Join(where, "; "))
			}
		}
	}

	// Per key, first processings in Put order.
	perKeyFirst := make([][]*event, keys)
	for data, e := range first {
		if k, _, ok := parseData(data); ok && k < keys {
			perKeyFirst[k] = append(perKeyFirst[k], e)
		}
	}
	for k, es := range perKeyFirst {
		slices.SortFunc(es, (*event).compare)
		for i := 1; i < len(es); i++ {
			_, a, _ := parseData(es[i-1].text)
			_, b, _ := parseData(es[i].text)
			if b < a {
				rep.outOfOrderKeys++
				if rep.orderExample == "" {
					rep.orderExample = fmt.Sprintf("key-%d: %d (by %s on %s) first processed after %d (by %s on %s)", k, b, es[i].worker, es[i].shard, a, es[i-1].worker, es[i-1].shard)
				}
				break
			}
		}
	}

	// How each shard's processors followed one another.
	slices.SortFunc(lifecycle, (*event).compare)
	ended := map[string]*event{}
	for _, e := range lifecycle {
		if e.kind == 'S' {
			ended[e.shard] = e
			continue
		}
		switch prev := ended[e.shard]; {
		case prev == nil:
			rep.moves["first"]++
		case prev.text == "shutdown" && prev.worker != e.worker:
			rep.moves["graceful"]++
		case prev.text == "shutdown":
			rep.moves["again on the same worker"]++
		default:
			rep.moves["after "+prev.text]++ // killed, lost
			if prev.text == "killed" {
				rep.failover = max(rep.failover, time.Duration(e.ns-killNs))
			}
		}
	}
	return rep
}

// parseData reads "key-K:N".
func parseData(data string) (k, n int, ok bool) {
	ks, ns, found := strings.Cut(strings.TrimPrefix(data, "key-"), ":")
	if !found {
		return 0, 0, false
	}
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	return k, n, err1 == nil && err2 == nil
}

package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage/mem"
)

func TestNewRateWindow(t *testing.T) {
	tests := []struct {
		span  time.Duration
		width time.Duration
		n     int
	}{
		{span: time.Minute, width: time.Second, n: 60},
		{span: 10 * time.Second, width: time.Second, n: 10},
		{span: 100 * time.Millisecond, width: 10 * time.Millisecond, n: 10},
		{span: time.Hour, width: 6 * time.Second, n: 600},
		{span: 5 * time.Millisecond, width: time.Millisecond, n: 5},
	}
	for _, tt := range tests {
		w := newRateWindow(tt.span)
		if w.width != tt.width || len(w.buckets) != tt.n {
			t.Errorf("newRateWindow(%v): width %v, %d buckets; want %v, %d", tt.span, w.width, len(w.buckets), tt.width, tt.n)
		}
	}
}

func TestRateWindow(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type add struct {
		at             time.Duration
		bytes, records int
	}
	tests := []struct {
		name         string
		adds         []add
		at           time.Duration
		bytes, recds float64
	}{
		{name: "empty", at: 0},
		{name: "one bucket", adds: []add{{0, 1000, 10}}, at: 0, bytes: 100, recds: 1},
		{name: "spread over the window", adds: []add{{0, 1000, 10}, {3500 * time.Millisecond, 500, 5}, {9 * time.Second, 500, 5}},
			at: 9 * time.Second, bytes: 200, recds: 2},
		{name: "same bucket accumulates", adds: []add{{100 * time.Millisecond, 10, 1}, {900 * time.Millisecond, 30, 3}},
			at: 2 * time.Second, bytes: 4, recds: 0.4},
		{name: "oldest bucket leaves the window", adds: []add{{0, 1000, 10}, {5 * time.Second, 100, 1}},
			at: 10 * time.Second, bytes: 10, recds: 0.1},
		{name: "ring slot reused after a full turn", adds: []add{{0, 1000, 10}, {20 * time.Second, 50, 5}},
			at: 20 * time.Second, bytes: 5, recds: 0.5},
		{name: "all stale", adds: []add{{0, 1000, 10}}, at: time.Minute},
		{name: "a rate asked in the past counts nothing after it", adds: []add{{0, 1000, 10}, {5 * time.Second, 100, 1}},
			at: 2 * time.Second, bytes: 100, recds: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newRateWindow(10 * time.Second)
			for _, a := range tt.adds {
				w.add(at(a.at), a.bytes, a.records)
			}
			b, r := w.rate(at(tt.at))
			if b != tt.bytes || r != tt.recds {
				t.Errorf("rate = %g B/s, %g rec/s; want %g, %g", b, r, tt.bytes, tt.recds)
			}
		})
	}
}

func TestRateWindowAddDoesNotAllocate(t *testing.T) {
	ms := newMeters(time.Minute)
	k := shardKey{"id", 3}
	now := time.Now()
	ms.add(k, now, 1, 1)
	if n := testing.AllocsPerRun(100, func() { ms.add(k, now, 100, 1) }); n != 0 {
		t.Errorf("meters.add allocates %g times per call", n)
	}
}

func TestMidHash(t *testing.T) {
	u := func(s string) uint128 {
		h, err := parseHashKey(s)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	tests := []struct{ start, end, want string }{
		{"0", maxHash, halfHash},
		{"0", "1", "1"},
		{"10", "13", "12"},
		{"10", "12", "12"},
		{halfHash, maxHash, "255211775190703847597530955573826158592"}, // 3 * 2^126
		{"18446744073709551615", "18446744073709551618", "18446744073709551617"},
	}
	for _, tt := range tests {
		if got := midHash(u(tt.start), u(tt.end)); got != u(tt.want) {
			t.Errorf("midHash(%s, %s) = %s, want %s", tt.start, tt.end, got, tt.want)
		}
	}
}

func TestAutoscaleConfig(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		want    autoscaleConfig
		wantErr string
	}{
		{name: "defaults", want: autoscaleConfig{interval: time.Minute, splitThreshold: 0.8, mergeThreshold: 0.2,
			cooldown: 15 * time.Minute, bytesPerSec: 1 << 20, recordsPerSec: 1000}},
		{name: "set", opts: Options{AutoscaleInterval: time.Second, AutoscaleSplitThreshold: 0.5, AutoscaleMergeThreshold: 0.1,
			AutoscaleCooldown: time.Minute, ShardWriteBytesPerSec: 100, ShardWriteRecordsPerSec: 10},
			want: autoscaleConfig{interval: time.Second, splitThreshold: 0.5, mergeThreshold: 0.1,
				cooldown: time.Minute, bytesPerSec: 100, recordsPerSec: 10}},
		{name: "off", opts: Options{AutoscaleInterval: -1}, want: autoscaleConfig{interval: -1, splitThreshold: 0.8, mergeThreshold: 0.2,
			cooldown: 15 * time.Minute, bytesPerSec: 1 << 20, recordsPerSec: 1000}},
		{name: "merge too close to split", opts: Options{AutoscaleSplitThreshold: 0.5, AutoscaleMergeThreshold: 0.25},
			wantErr: "merge threshold 0.25 must be positive and below half the split threshold 0.5"},
		{name: "negative merge", opts: Options{AutoscaleMergeThreshold: -0.1}, wantErr: "merge threshold -0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newAutoscaleConfig(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("config = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestDecide checks the policy on hand-made streams and loads.
func TestDecide(t *testing.T) {
	auto, err := newAutoscaleConfig(Options{AutoscaleCooldown: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{autoscale: auto}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	long, recent := now.Add(-time.Hour), now.Add(-time.Second)

	// layout builds a stream whose shard 0 covered the whole hash space
	// and was split into n uniform open shards (indexes 1..n).
	layout := func(n int) *streamRecord {
		rec := &streamRecord{Shards: []shardRecord{{Index: 0, StartHash: uint128{}, EndHash: maxHashKey, Closed: long}}}
		for i, r := range splitHashSpace(n) {
			rec.Shards = append(rec.Shards, shardRecord{Index: uint32(i + 1), Parents: []uint32{0}, StartHash: r[0], EndHash: r[1]})
		}
		return rec
	}
	// fourPlusSplit is four original shards with shard 0 split into 4, 5.
	fourPlusSplit := func() *streamRecord {
		rec := &streamRecord{}
		for i, r := range splitHashSpace(4) {
			rec.Shards = append(rec.Shards, shardRecord{Index: uint32(i), StartHash: r[0], EndHash: r[1]})
		}
		rec.Shards[0].Closed = long
		mid := midHash(rec.Shards[0].StartHash, rec.Shards[0].EndHash)
		rec.Shards = append(rec.Shards,
			shardRecord{Index: 4, Parents: []uint32{0}, StartHash: rec.Shards[0].StartHash, EndHash: mid.sub1()},
			shardRecord{Index: 5, Parents: []uint32{0}, StartHash: mid, EndHash: rec.Shards[0].EndHash})
		return rec
	}
	// loads gives the open shards, in hash key order, the utilisations
	// and cold spells given.
	loads := func(rec *streamRecord, utils []float64, cold []time.Time) []shardLoad {
		var out []shardLoad
		for i := range rec.Shards {
			if rec.Shards[i].open() {
				out = append(out, shardLoad{sh: &rec.Shards[i]})
			}
		}
		slices.SortFunc(out, func(a, b shardLoad) int { return a.sh.StartHash.cmp(b.sh.StartHash) })
		for i := range out {
			out[i].util, out[i].coldSince = utils[i], cold[i]
		}
		return out
	}
	var z time.Time
	tests := []struct {
		name      string
		rec       *streamRecord
		utils     []float64
		cold      []time.Time
		maxShards int
		want      string // "split N", "merge N+M" or "none"
	}{
		{name: "quiet", rec: layout(4), utils: []float64{0.5, 0.5, 0.5, 0.5}, cold: []time.Time{z, z, z, z}, want: "none"},
		{name: "hottest over threshold is split", rec: layout(4), utils: []float64{0.9, 0.3, 1.5, 0.81},
			cold: []time.Time{z, z, z, z}, want: "split 3"},
		{name: "at the threshold is not split", rec: layout(4), utils: []float64{0.8, 0.8, 0.8, 0.8},
			cold: []time.Time{z, z, z, z}, want: "none"},
		{name: "no split past the shard limit", rec: layout(4), utils: []float64{0.9, 0, 0, 0},
			cold: []time.Time{z, long, long, long}, maxShards: 4, want: "none"},
		{name: "split wins over merge", rec: fourPlusSplit(), utils: []float64{0, 0, 0.9, 0, 0},
			cold: []time.Time{long, long, z, long, long}, want: "split 1"},
		{name: "cold siblings merge back", rec: fourPlusSplit(), utils: []float64{0, 0, 0, 0, 0},
			cold: []time.Time{long, long, long, long, long}, want: "merge 4+5"},
		{name: "not cold for the cooldown", rec: fourPlusSplit(), utils: []float64{0, 0, 0, 0, 0},
			cold: []time.Time{long, recent, long, long, long}, want: "none"},
		{name: "one sibling warm", rec: fourPlusSplit(), utils: []float64{0.5, 0, 0, 0, 0},
			cold: []time.Time{z, long, long, long, long}, want: "none"},
		{name: "never below four open shards", rec: layout(4), utils: []float64{0, 0, 0, 0},
			cold: []time.Time{long, long, long, long}, want: "none"},
		{name: "never below four even when undoing a split", rec: layout(2), utils: []float64{0, 0},
			cold: []time.Time{long, long}, want: "none"},
		{name: "a merge only undoes a split", rec: layout(5), utils: []float64{0, 0, 0, 0, 0},
			cold: []time.Time{long, long, long, long, long}, want: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := tt.maxShards
			if max == 0 {
				max = maxStreamShards
			}
			d := s.decide(tt.rec, loads(tt.rec, tt.utils, tt.cold), now, max)
			got := "none"
			switch {
			case d != nil && d.split != nil:
				got = fmt.Sprintf("split %d", d.split.sh.Index)
			case d != nil:
				got = fmt.Sprintf("merge %d+%d", d.merge[0].sh.Index, d.merge[1].sh.Index)
			}
			if got != tt.want {
				t.Errorf("decide = %s, want %s", got, tt.want)
			}
		})
	}
}

// newLoggedFixture is newFixture with the service's log kept in buf.
func newLoggedFixture(t *testing.T, opts Options, buf *bytes.Buffer) *fixture {
	t.Helper()
	clock := &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	engine := mem.New(mem.Options{Now: clock.Now})
	t.Cleanup(func() { engine.Close() })
	opts.Now = clock.Now
	opts.Logger = slog.New(slog.NewJSONHandler(buf, nil))
	svc, err := New(context.Background(), engine, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(svc.Close)
	return &fixture{svc: svc, clock: clock, engine: engine, ctx: context.Background()}
}

// keysIn returns n partition keys that route into lo..hi.
func keysIn(t *testing.T, n int, lo, hi uint128) []string {
	t.Helper()
	var keys []string
	for i := 0; len(keys) < n; i++ {
		if i > 100000 {
			t.Fatal("no keys found")
		}
		k := fmt.Sprintf("key-%d", i)
		if h := partitionHash(k); lo.cmp(h) <= 0 && h.cmp(hi) <= 0 {
			keys = append(keys, k)
		}
	}
	return keys
}

// readLineage reads every shard of the stream after its parents and
// returns the data of each partition key in read order.
func readLineage(t *testing.T, f *fixture, name string) (map[string][]string, map[string]bool) {
	t.Helper()
	shards := f.shards(t, name)
	done := make(map[string]bool)
	byKey := make(map[string][]string)
	seqs := make(map[string]bool)
	for len(done) < len(shards) {
		progress := false
		for _, sh := range shards {
			if done[sh.ShardID] || sh.ParentShardID != "" && !done[sh.ParentShardID] ||
				sh.AdjacentParentShardID != "" && !done[sh.AdjacentParentShardID] {
				continue
			}
			it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: name}, ShardID: sh.ShardID, ShardIteratorType: TrimHorizon})
			for it != "" {
				out := f.get(t, it, 0)
				for _, r := range out.Records {
					byKey[r.PartitionKey] = append(byKey[r.PartitionKey], string(r.Data))
					seqs[r.SequenceNumber] = true
				}
				if len(out.Records) == 0 && sh.SequenceNumberRange.EndingSequenceNumber == "" {
					break // the tip of an open shard
				}
				it = out.NextShardIterator
			}
			done[sh.ShardID] = true
			progress = true
		}
		if !progress {
			t.Fatalf("shards with unknown parents: %v", briefs(shards))
		}
	}
	return byKey, seqs
}

// openBriefs is briefs of the stream's open shards.
func (f *fixture) openBriefs(t *testing.T, name string) []string {
	t.Helper()
	var out []string
	for _, b := range briefs(f.shards(t, name)) {
		if strings.HasSuffix(b, " open") {
			out = append(out, b)
		}
	}
	return out
}

func TestOnDemandAutoscale(t *testing.T) {
	var logs bytes.Buffer
	// The scaler goroutine is off: the test evaluates by hand under the
	// fake clock. A shard takes 10 records/s, so 480 records in the
	// one-minute window exceed the split threshold of 0.8.
	f := newLoggedFixture(t, Options{AutoscaleInterval: -1, AutoscaleCooldown: 5 * time.Minute, ShardWriteRecordsPerSec: 10}, &logs)
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "od", StreamMode: ModeOnDemand}); err != nil {
		t.Fatal(err)
	}
	f.create(t, "prov", 4)

	quarter := splitHashSpace(4)[0]
	keys := keysIn(t, 3, quarter[0], quarter[1])
	next := make(map[string]int)
	acked := make(map[string]bool) // sequence numbers of od
	// burst writes n records per key to both streams.
	burst := func(n int) []PutRecordsResult {
		t.Helper()
		var all []PutRecordsResult
		for _, name := range []string{"od", "prov"} {
			var entries []PutRecordsEntry
			for _, k := range keys {
				for i := range n {
					entries = append(entries, PutRecordsEntry{PartitionKey: k, Data: fmt.Appendf(nil, "%s/%d", k, next[name+k]+i)})
				}
			}
			for len(entries) > 0 {
				batch := entries[:min(500, len(entries))]
				entries = entries[len(batch):]
				out, err := f.svc.PutRecords(f.ctx, scope, PutRecordsInput{Stream: StreamRef{Name: name}, Records: batch})
				if err != nil || out.FailedRecordCount != 0 {
					t.Fatalf("PutRecords %s: %v %+v", name, err, out)
				}
				if name == "od" {
					for _, r := range out.Records {
						acked[r.SequenceNumber] = true
					}
					all = append(all, out.Records...)
				}
			}
			for _, k := range keys {
				next[name+k] += n
			}
		}
		return all
	}
	evaluate := func() {
		t.Helper()
		if err := f.svc.autoscaleOnce(f.ctx); err != nil {
			t.Fatalf("autoscaleOnce: %v", err)
		}
	}
	provBefore := briefs(f.shards(t, "prov"))

	// Under the threshold (400 records a minute: 0.67 of capacity) nothing
	// happens.
	burst(400 / len(keys))
	evaluate()
	if got := len(f.shards(t, "od")); got != 4 {
		t.Fatalf("od has %d shards under the threshold, want 4", got)
	}

	// The burst: with the first 399 records, 999 in the one-minute window,
	// 16.65 records/s.
	f.clock.Advance(2 * time.Second)
	burst(200)
	evaluate()
	mid := midHash(quarter[0], quarter[1])
	wantSplit := []string{
		"0 - - " + quarter[0].String() + "-" + quarter[1].String() + " closed",
		"1 - - " + splitHashSpace(4)[1][0].String() + "-" + splitHashSpace(4)[1][1].String() + " open",
		"2 - - " + splitHashSpace(4)[2][0].String() + "-" + splitHashSpace(4)[2][1].String() + " open",
		"3 - - " + splitHashSpace(4)[3][0].String() + "-" + maxHash + " open",
		"4 0 - " + quarter[0].String() + "-" + mid.sub1().String() + " open",
		"5 0 - " + mid.String() + "-" + quarter[1].String() + " open",
	}
	if got := briefs(f.shards(t, "od")); !slices.Equal(got, wantSplit) {
		t.Fatalf("od after the burst:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantSplit, "\n"))
	}
	var entry struct {
		Msg        string `json:"msg"`
		Stream     string `json:"stream"`
		Shard      string `json:"shard1"`
		RecsPerSec int64  `json:"shard1_records_per_sec"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &entry); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if entry.Msg != "stream: on-demand split" || entry.Stream != "od" || entry.Shard != "shardId-000000000000" || entry.RecsPerSec != 16 {
		t.Errorf("log = %+v", entry)
	}

	// While UPDATING nothing more happens, however hot the children are.
	burst(400)
	evaluate()
	if got := len(f.shards(t, "od")); got != 6 {
		t.Fatalf("od has %d shards while UPDATING, want 6", got)
	}

	// Writes continue, into the children.
	f.clock.Advance(defaultDelay)
	for _, r := range burst(5) {
		if r.ShardID != shardID(4) && r.ShardID != shardID(5) {
			t.Fatalf("record written to %s after the split, want a child", r.ShardID)
		}
	}

	// Every acknowledged record is readable, parents before children, in
	// order per key.
	byKey, seqs := readLineage(t, f, "od")
	for seq := range acked {
		if !seqs[seq] {
			t.Errorf("acknowledged record %s not read", seq)
		}
	}
	for _, k := range keys {
		want := make([]string, next["od"+k])
		for i := range want {
			want[i] = fmt.Sprintf("%s/%d", k, i)
		}
		if !slices.Equal(byKey[k], want) {
			t.Errorf("key %s read %d records out of order or incomplete, want %d", k, len(byKey[k]), len(want))
		}
	}

	// After the burst: once the window has passed the children are cold,
	// but not for the cooldown yet.
	f.clock.Advance(2 * time.Minute)
	evaluate()
	if got := len(f.openBriefs(t, "od")); got != 5 {
		t.Fatalf("od has %d open shards before the cooldown, want 5", got)
	}
	f.clock.Advance(5 * time.Minute)
	evaluate()
	wantMerged := append(slices.Clone(wantSplit[1:4]), "6 4 5 "+quarter[0].String()+"-"+quarter[1].String()+" open")
	if got := f.openBriefs(t, "od"); !slices.Equal(got, wantMerged) {
		t.Fatalf("od after the cooldown:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantMerged, "\n"))
	}
	if !strings.Contains(logs.String(), `"msg":"stream: on-demand merge","stream":"od"`) {
		t.Errorf("no merge logged: %s", logs.String())
	}

	// Never below four open shards, however long it stays cold.
	for range 3 {
		f.clock.Advance(time.Hour)
		evaluate()
	}
	if got := f.openBriefs(t, "od"); !slices.Equal(got, wantMerged) {
		t.Fatalf("od after long cold:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantMerged, "\n"))
	}
	// The provisioned stream under the same load was never scaled.
	if got := briefs(f.shards(t, "prov")); !slices.Equal(got, provBefore) {
		t.Errorf("prov was resharded:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(provBefore, "\n"))
	}
	// The meters of closed shards are forgotten.
	f.svc.meters.mu.RLock()
	n := len(f.svc.meters.m)
	f.svc.meters.mu.RUnlock()
	if n != 4 {
		t.Errorf("%d shard meters kept, want 4 (the open shards of od)", n)
	}
}

// TestAutoscaleLoop runs the scaler goroutine on the real clock: a hot
// shard is split within a few intervals.
func TestAutoscaleLoop(t *testing.T) {
	engine := mem.New(mem.Options{})
	t.Cleanup(func() { engine.Close() })
	svc, err := New(context.Background(), engine, Options{
		Logger: quiet, CreateDelay: NoDelay, UpdateDelay: NoDelay,
		AutoscaleInterval: 20 * time.Millisecond, ShardWriteRecordsPerSec: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ctx := context.Background()
	if err := svc.CreateStream(ctx, scope, CreateStreamInput{StreamName: "od", StreamMode: ModeOnDemand}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := svc.PutRecord(ctx, scope, PutRecordInput{Stream: StreamRef{Name: "od"}, PartitionKey: "k", Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		out, err := svc.ListShards(ctx, scope, ListShardsInput{Stream: StreamRef{Name: "od"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Shards) > 4 {
			if len(out.Shards) < 6 || out.Shards[4].ParentShardID == "" || out.Shards[4].ParentShardID != out.Shards[5].ParentShardID {
				t.Fatalf("shards after the scaler ran: %v", briefs(out.Shards))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no split within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestOnDemandAutoscaleShardLimit checks that the scaler stops at the
// account's shard limit, which bounds an on-demand stream's shards.
func TestOnDemandAutoscaleShardLimit(t *testing.T) {
	tests := []struct {
		limit, want int
	}{
		{limit: 4, want: 4},
		{limit: 5, want: 6}, // one split: 5 open shards
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.limit), func(t *testing.T) {
			f := newFixture(t, Options{AutoscaleInterval: -1, ShardWriteRecordsPerSec: 1, ShardLimit: tt.limit})
			if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "od", StreamMode: ModeOnDemand}); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(defaultDelay)
			// Every shard far over 1 record/s.
			var entries []PutRecordsEntry
			for i := range 400 {
				entries = append(entries, PutRecordsEntry{PartitionKey: fmt.Sprint(i), Data: []byte("x")})
			}
			if _, err := f.svc.PutRecords(f.ctx, scope, PutRecordsInput{Stream: StreamRef{Name: "od"}, Records: entries}); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := f.svc.autoscaleOnce(f.ctx); err != nil {
					t.Fatal(err)
				}
				f.clock.Advance(defaultDelay)
			}
			if got := len(f.shards(t, "od")); got != tt.want {
				t.Errorf("%d shards, want %d", got, tt.want)
			}
		})
	}
}

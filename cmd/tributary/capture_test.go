package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// keyedRecord is a record put by a test: its key and data.
type keyedRecord struct {
	key  string
	data []byte
}

// captureTestRecords returns records of keys, several per key, with the
// edge cases of data and keys: binary data of every byte value, one-byte
// data, a line end in the data, a 256-character key, a large record.
func captureTestRecords() []keyedRecord {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{strings.Repeat("k", 256), "é-ünïcode", "a", "b b", `"quoted"`}
	for i := range 15 {
		keys = append(keys, fmt.Sprintf("key-%02d", i))
	}
	var recs []keyedRecord
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	for round := range 6 {
		for i, k := range keys {
			var data []byte
			switch (round + i) % 6 {
			case 0:
				data = every
			case 1:
				data = []byte{0}
			case 2:
				data = []byte{0xff}
			case 3:
				data = []byte("line\nend\r\n")
			case 4:
				data = make([]byte, 100<<10)
				for j := range data {
					data[j] = byte(rng.IntN(256))
				}
			default:
				data = fmt.Appendf(nil, "%s #%d", k, round)
			}
			// Per key, a record tells its place by its first byte too,
			// when it is long enough to carry one.
			if len(data) > 1 {
				data = append([]byte{byte(round)}, data...)
			}
			recs = append(recs, keyedRecord{key: k, data: data})
		}
	}
	return recs
}

// putPlain puts recs into the stream with the SDK, in order, in
// PutRecords calls of up to n records, as plain records (not KPL
// aggregates).
func putPlain(t *testing.T, c *sdk.Client, stream string, recs []keyedRecord, n int) {
	t.Helper()
	for len(recs) > 0 {
		batch := recs[:min(n, len(recs))]
		recs = recs[len(batch):]
		in := &sdk.PutRecordsInput{StreamName: aws.String(stream)}
		for _, r := range batch {
			in.Records = append(in.Records, types.PutRecordsRequestEntry{PartitionKey: aws.String(r.key), Data: r.data})
		}
		out, err := c.PutRecords(context.Background(), in)
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v (%+v)", err, out)
		}
	}
}

// readCapture reads a capture file.
func readCapture(t *testing.T, path string) []captureRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []captureRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var r captureRecord
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// byKey groups the data of records by key, in order.
func byKey[R any](recs []R, kd func(R) (string, []byte)) map[string][][]byte {
	m := map[string][][]byte{}
	for _, r := range recs {
		k, d := kd(r)
		m[k] = append(m[k], d)
	}
	return m
}

// checkSameByKey asserts that got holds, key by key, the data of want in
// the same order, byte for byte.
func checkSameByKey(t *testing.T, what string, got, want map[string][][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d keys, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Errorf("%s: key %.20q has %d records, want %d", what, k, len(g), len(w))
			continue
		}
		for i := range w {
			if !bytes.Equal(g[i], w[i]) {
				t.Errorf("%s: key %.20q record %d is %d bytes %.16x, want %d bytes %.16x", what, k, i, len(g[i]), g[i], len(w[i]), w[i])
				break
			}
		}
	}
}

var captureSummary = regexp.MustCompile(`(?m)^capture: ([0-9,]+) records? \([0-9.]+ MiB\) from ([0-9,]+) shards? of stream (\S+) to (.+) in [0-9.]+s$`)
var replaySummary = regexp.MustCompile(`(?m)^replay: ([0-9,]+) records? \([0-9.]+ MiB\) to stream (\S+) in [0-9.]+s, [0-9,]+ rec/s: ([0-9,]+) stored, ([0-9,]+) failed$`)

// TestCaptureReplay: a capture holds every record with its key, data,
// shard, sequence and arrival; replayed into another stream and captured
// again, the records are the same byte for byte, in the same order per
// key, at full speed and paced.
func TestCaptureReplay(t *testing.T) {
	t.Parallel()
	endpoint, c := startPutServer(t, nil)
	ep := []string{"--endpoint", endpoint}
	createStream(t, c, "src", 3, 0)
	recs := captureTestRecords()
	before := time.Now().Add(-time.Second)
	putPlain(t, c, "src", recs, 7)
	want := byKey(recs, func(r keyedRecord) (string, []byte) { return r.key, r.data })

	dir := t.TempDir()
	capFile := filepath.Join(dir, "src.ndjson")
	code, _, stderr := opCLI(t, nil, append([]string{"capture", "--stream", "src", "--out", capFile}, ep...)...)
	if m := captureSummary.FindStringSubmatch(stderr); code != 0 || m == nil || m[1] != fmt.Sprint(len(recs)) || m[2] != "3" || m[3] != "src" || m[4] != capFile {
		t.Fatalf("capture: exit %d, stderr %q; want a summary of %d records from 3 shards", code, stderr, len(recs))
	}
	captured := readCapture(t, capFile)
	checkSameByKey(t, "capture", byKey(captured, func(r captureRecord) (string, []byte) { return r.Key, r.Data }), want)
	shardOf := map[string]string{}
	for _, r := range captured {
		if !strings.HasPrefix(r.Shard, "shardId-") || r.Sequence == "" || r.SubSequence != nil ||
			r.Arrival.Before(before) || r.Arrival.After(time.Now()) || r.Arrival.Location() != time.UTC {
			t.Errorf("captured record %+v: want a shard, a sequence, no subSequence and a recent UTC arrival", r)
		}
		if s, ok := shardOf[r.Key]; ok && s != r.Shard {
			t.Errorf("key %q in shards %s and %s", r.Key, s, r.Shard)
		}
		shardOf[r.Key] = r.Shard
	}
	// The file's fields, as a script reads them.
	raw, _ := os.ReadFile(capFile)
	first := strings.SplitN(string(raw), "\n", 2)[0]
	for _, f := range []string{`"data":"`, `"key":"`, `"arrival":"`, `"shard":"shardId-`, `"sequence":"`} {
		if !strings.Contains(first, f) {
			t.Errorf("first line %q has no %s", first, f)
		}
	}

	for _, tt := range []struct {
		name  string
		flags []string
	}{
		{"max", []string{"--speed", "max"}},
		{"paced", []string{"--speed", "50", "--no-aggregation"}},
		{"ids", []string{"--ids"}},
		{"unlimited", []string{"--rate-limit", "100"}},
	} {
		dst := "dst-" + tt.name
		createStream(t, c, dst, 2, 0)
		code, _, stderr := opCLI(t, nil, append(append([]string{"replay", "--in", capFile, "--stream", dst}, tt.flags...), ep...)...)
		m := replaySummary.FindStringSubmatch(stderr)
		if n := fmt.Sprint(len(recs)); code != 0 || m == nil || m[1] != n || m[2] != dst || m[3] != n || m[4] != "0" {
			t.Errorf("replay %s: exit %d, stderr %q; want %s records stored, 0 failed", tt.name, code, stderr, n)
			continue
		}
		again := filepath.Join(dir, dst+".ndjson")
		mustOpCLI(t, append([]string{"capture", "--stream", dst, "--out", again}, ep...)...)
		replayed := readCapture(t, again)
		checkSameByKey(t, "replay "+tt.name, byKey(replayed, func(r captureRecord) (string, []byte) { return r.Key, r.Data }), want)
		// The producer may send a record alone when no other shares its
		// request; with aggregation, most share one.
		aggregated := slices.ContainsFunc(replayed, func(r captureRecord) bool { return r.SubSequence != nil })
		if aggregated == slices.Contains(tt.flags, "--no-aggregation") {
			t.Errorf("replay %s: some records aggregated: %v", tt.name, aggregated)
		}
	}

	// --limit, and standard output.
	code, out, stderr := opCLI(t, nil, append([]string{"capture", "--stream", "src", "--out", "-", "--limit", "5"}, ep...)...)
	if lines := strings.Count(out, "\n"); code != 0 || lines != 5 || !strings.Contains(stderr, "capture: 5 records") {
		t.Errorf("capture --limit 5 --out -: exit %d, %d lines, stderr %q", code, lines, stderr)
	}
	// A line that is not a record fails alone.
	bad := filepath.Join(dir, "bad.ndjson")
	os.WriteFile(bad, []byte(first+"\nnot json\n"+first+"\n"), 0o644)
	code, _, stderr = opCLI(t, nil, append([]string{"replay", "--in", bad, "--stream", "src"}, ep...)...)
	if m := replaySummary.FindStringSubmatch(stderr); code != 1 || m == nil || m[3] != "2" || m[4] != "1" || !strings.Contains(stderr, "tributary replay: line 2: not a capture record") {
		t.Errorf("replay of a bad line: exit %d, stderr %q; want 1, 2 stored, 1 failed at line 2", code, stderr)
	}
}

// TestCaptureAcrossReshard: records put before and after a reshard, in
// the parent and in its children, are in the capture in the order put
// per key.
func TestCaptureAcrossReshard(t *testing.T) {
	t.Parallel()
	endpoint, c := startPutServer(t, nil)
	ep := []string{"--endpoint", endpoint}
	createStream(t, c, "r", 1, 0)
	var recs []keyedRecord
	put := func(from, to int) {
		var batch []keyedRecord
		for n := from; n < to; n++ {
			for k := range 8 {
				batch = append(batch, keyedRecord{key: fmt.Sprint("key-", k), data: fmt.Appendf(nil, "key-%d #%d", k, n)})
			}
		}
		putPlain(t, c, "r", batch, 50)
		recs = append(recs, batch...)
	}
	put(0, 20)
	mustOpCLI(t, append([]string{"streams", "reshard", "r", "--shards", "2", "--wait"}, ep...)...)
	put(20, 40)
	mustOpCLI(t, append([]string{"streams", "reshard", "r", "--split", "shardId-000000000001", "--wait"}, ep...)...)
	put(40, 60)

	file := filepath.Join(t.TempDir(), "r.ndjson")
	code, _, stderr := opCLI(t, nil, append([]string{"capture", "--stream", "r", "--out", file}, ep...)...)
	if m := captureSummary.FindStringSubmatch(stderr); code != 0 || m == nil || m[1] != fmt.Sprint(len(recs)) || m[2] != "5" {
		t.Fatalf("capture: exit %d, stderr %q; want %d records from 5 shards", code, stderr, len(recs))
	}
	captured := readCapture(t, file)
	checkSameByKey(t, "capture across reshards", byKey(captured, func(r captureRecord) (string, []byte) { return r.Key, r.Data }),
		byKey(recs, func(r keyedRecord) (string, []byte) { return r.key, r.data }))
	// A parent's records come before its children's in the file.
	firstAt := map[string]int{}
	lastAt := map[string]int{}
	for i, r := range captured {
		if _, ok := firstAt[r.Shard]; !ok {
			firstAt[r.Shard] = i
		}
		lastAt[r.Shard] = i
	}
	shards, err := listAllShards(context.Background(), c, "r", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		if p := aws.ToString(s.ParentShardId); p != "" {
			if child, ok := firstAt[aws.ToString(s.ShardId)]; ok && lastAt[p] > child {
				t.Errorf("shard %s's records start at line %d, before its parent %s's end at %d", aws.ToString(s.ShardId), child+1, p, lastAt[p]+1)
			}
		}
	}
}

// TestCaptureFollowAndTimestamp: --from at-timestamp starts after the
// records stored before it; --follow saves records put while it runs,
// until its context ends, and then exits 0 with the file complete.
func TestCaptureFollowAndTimestamp(t *testing.T) {
	t.Parallel()
	endpoint, c := startPutServer(t, nil)
	ep := []string{"--endpoint", endpoint}
	createStream(t, c, "f", 2, 0)
	dir := t.TempDir()
	numbered := func(from, to int) []keyedRecord {
		var recs []keyedRecord
		for n := from; n < to; n++ {
			recs = append(recs, keyedRecord{key: fmt.Sprint("key-", n%5), data: fmt.Appendf(nil, "#%d", n)})
		}
		return recs
	}
	first := numbered(0, 20)
	putPlain(t, c, "f", first, 10)
	all := filepath.Join(dir, "all.ndjson")
	mustOpCLI(t, append([]string{"capture", "--stream", "f", "--out", all}, ep...)...)
	var last time.Time
	for _, r := range readCapture(t, all) {
		if r.Arrival.After(last) {
			last = r.Arrival
		}
	}
	// Arrival times have milliseconds: the next records must be stored
	// at a later one.
	for time.Now().Before(last.Add(2 * time.Millisecond)) {
		time.Sleep(time.Millisecond)
	}
	second := numbered(20, 40)
	putPlain(t, c, "f", second, 10)
	since := filepath.Join(dir, "since.ndjson")
	mustOpCLI(t, append([]string{"capture", "--stream", "f", "--out", since, "--from", "at-timestamp",
		"--timestamp", last.Add(time.Millisecond).Format(time.RFC3339Nano)}, ep...)...)
	checkSameByKey(t, "--from at-timestamp", byKey(readCapture(t, since), func(r captureRecord) (string, []byte) { return r.Key, r.Data }),
		byKey(second, func(r keyedRecord) (string, []byte) { return r.key, r.data }))

	// --follow from latest: only the records put once it reads.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	followed := filepath.Join(dir, "followed.ndjson")
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		code := runMain(ctx, append([]string{"capture", "--stream", "f", "--out", followed, "--from", "latest", "--follow"}, ep...), nil, &stdout, &stderr, env(nil))
		done <- result{code, stderr.String()}
	}()
	// Put until the capture has seen a record: the shards' iterators at
	// LATEST are taken some time after the start.
	third := numbered(40, 60)
	var put []keyedRecord
	for n := 0; ; n++ {
		probe := keyedRecord{key: fmt.Sprint("key-", n%5), data: fmt.Appendf(nil, "probe %d", n)}
		putPlain(t, c, "f", []keyedRecord{probe}, 1)
		put = append(put, probe)
		if fi, err := os.Stat(followed); err == nil && fi.Size() > 0 {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("capture --follow ended: exit %d, stderr %q", r.code, r.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	putPlain(t, c, "f", third, 10)
	put = append(put, third...)
	// Wait until every key's last record is in the file, then stop: the
	// shards are followed apart, so the last record put being there says
	// nothing of the other shards' (CI once stopped a shard short).
	lastOf := map[string][]byte{}
	for _, r := range third {
		lastOf[r.key] = r.data
	}
	for {
		raw, _ := os.ReadFile(followed)
		all := true
		for _, data := range lastOf {
			all = all && bytes.Contains(raw, fmt.Appendf(nil, `"data":"%s"`, base64Of(data)))
		}
		if all {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("capture --follow ended: exit %d, stderr %q", r.code, r.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	r := <-done
	if m := captureSummary.FindStringSubmatch(r.stderr); r.code != 0 || m == nil {
		t.Fatalf("capture --follow: exit %d, stderr %q; want 0 and a summary", r.code, r.stderr)
	}
	got := byKey(readCapture(t, followed), func(r captureRecord) (string, []byte) { return r.Key, r.Data })
	// The first probes may have been put before the iterators: the
	// capture holds a suffix of each key's records, ending with third's.
	want := byKey(put, func(r keyedRecord) (string, []byte) { return r.key, r.data })
	for k, w := range want {
		g := got[k]
		if len(g) == 0 || len(g) > len(w) {
			t.Errorf("key %s: %d records captured of %d put", k, len(g), len(w))
			continue
		}
		checkSameByKey(t, "--follow "+k, map[string][][]byte{k: g}, map[string][][]byte{k: w[len(w)-len(g):]})
	}
}

func base64Of(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

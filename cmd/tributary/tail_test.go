package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/internal/cli"
	"github.com/tributary-io/tributary/kpl"
	"github.com/tributary-io/tributary/producer"
)

// tailCLI runs "tributary tail args..." and returns its exit status,
// standard output and standard error.
func tailCLI(ctx context.Context, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := runMain(ctx, append([]string{"tail"}, args...), nil, &stdout, &stderr, env(nil))
	return code, stdout.String(), stderr.String()
}

// tailSummary matches the summary line of a run, capturing the figures.
var tailSummary = regexp.MustCompile(`(?m)^tail: ([0-9,]+) records? \(([0-9.]+) MiB\) from ([0-9,]+) shards? of stream (\S+) in ([0-9.]+)s$`)

// checkTailSummary asserts the summary line of stderr; shards -1 is any
// number.
func checkTailSummary(t *testing.T, stderr, stream string, records, shards int) {
	t.Helper()
	m := tailSummary.FindStringSubmatch(stderr)
	if m == nil {
		t.Errorf("no summary line in stderr:\n%s", stderr)
		return
	}
	if m[1] != cli.Thousands(int64(records)) || shards >= 0 && m[3] != strconv.Itoa(shards) || m[4] != stream {
		t.Errorf("summary %q, want %d records from %d shards of stream %s", m[0], records, shards, stream)
	}
}

func TestTailUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStdout string // substring; "" means empty
		wantStderr string // substring; "" means empty
	}{
		{name: "--help", args: []string{"tail", "--help"}, wantStdout: "Usage: tributary tail --stream name"},
		{name: "-h", args: []string{"tail", "-h"}, wantStdout: "\"dataEncoding\": \"base64\""},
		{name: "help tail", args: []string{"help", "tail"}, wantStdout: "Usage: tributary tail"},
		{name: "listed in the commands", args: []string{"help"}, wantStdout: "  tail      Print the records of a stream"},
		{name: "no stream", args: []string{"tail"}, wantStatus: 2, wantStderr: "tributary tail: --stream is required\n\nRun 'tributary tail --help' for the flags.\n"},
		{name: "unknown from", args: []string{"tail", "--stream", "s", "--from", "earliest"}, wantStatus: 2,
			wantStderr: "must be one of trim-horizon, latest, at-timestamp"},
		{name: "at-timestamp without --timestamp", args: []string{"tail", "--stream", "s", "--from", "at-timestamp"}, wantStatus: 2,
			wantStderr: "tributary tail: --from at-timestamp needs --timestamp\n"},
		{name: "--timestamp without at-timestamp", args: []string{"tail", "--stream", "s", "--timestamp", "1714564800"}, wantStatus: 2,
			wantStderr: "tributary tail: --timestamp needs --from at-timestamp, not trim-horizon\n"},
		{name: "--timestamp with latest", args: []string{"tail", "--stream", "s", "--from", "latest", "--timestamp", "1714564800"}, wantStatus: 2,
			wantStderr: "--timestamp needs --from at-timestamp, not latest"},
		{name: "bad timestamp", args: []string{"tail", "--stream", "s", "--from", "at-timestamp", "--timestamp", "yesterday"}, wantStatus: 2,
			wantStderr: "must be a time in RFC 3339, such as 2024-05-01T12:00:00Z, or in Unix seconds"},
		{name: "unknown format", args: []string{"tail", "--stream", "s", "--format", "csv"}, wantStatus: 2, wantStderr: "must be one of text, json, hex"},
		{name: "negative max", args: []string{"tail", "--stream", "s", "--max", "-1"}, wantStatus: 2, wantStderr: "must be a whole number, 0 or more"},
		{name: "follow with a value", args: []string{"tail", "--stream", "s", "--follow=maybe"}, wantStatus: 2, wantStderr: "invalid boolean value"},
		{name: "endpoint not a URL", args: []string{"tail", "--stream", "s", "--endpoint", "localhost:4567"}, wantStatus: 2, wantStderr: "must be an http or https URL"},
		{name: "unexpected argument", args: []string{"tail", "--stream", "s", "more"}, wantStatus: 2, wantStderr: "tributary tail: unexpected argument \"more\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := runMain(context.Background(), tt.args, nil, &stdout, &stderr, env(nil))
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d; stderr:\n%s", status, tt.wantStatus, stderr.String())
			}
			check := func(name, got, want string) {
				if want == "" && got != "" || !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q", name, got, want)
				}
			}
			check("stdout", stdout.String(), tt.wantStdout)
			check("stderr", stderr.String(), tt.wantStderr)
		})
	}
}

// TestTailUsageDocumentsEveryFlag guards the promise that --help explains
// every flag, with its default.
func TestTailUsageDocumentsEveryFlag(t *testing.T) {
	help := tailUsage()
	for _, o := range tailOptionList() {
		line := "  --" + o.flag + " " + o.arg + "\n"
		if o.arg == "" {
			line = "  --" + o.flag + "\n"
		}
		if !strings.Contains(help, line) {
			t.Errorf("help does not document --%s", o.flag)
		}
	}
	if n, want := strings.Count(help, "Default: "), len(tailOptionList()); n != want {
		t.Errorf("help has %d defaults, want %d", n, want)
	}
	for _, f := range []string{"shard", "sequenceNumber", "subSequenceNumber", "partitionKey", "explicitHashKey", "arrival", "data", "dataEncoding", "producerId", "producerSeq"} {
		if !strings.Contains(help, f) {
			t.Errorf("help does not document the json field %s", f)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time // zero: refused
	}{
		{"2024-05-01T12:00:00Z", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)},
		{"2024-05-01T14:00:00.250+02:00", time.Date(2024, 5, 1, 12, 0, 0, 250e6, time.UTC)},
		{"1714564800", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)},
		{"1714564800.25", time.Date(2024, 5, 1, 12, 0, 0, 250e6, time.UTC)},
		{"1714564800.000000001", time.Date(2024, 5, 1, 12, 0, 0, 1, time.UTC)},
		{"0", time.Unix(0, 0)},
		{"", time.Time{}},
		{"yesterday", time.Time{}},
		{"2024-05-01", time.Time{}},
		{"2024-05-01 12:00:00", time.Time{}},
		{"-1", time.Time{}},
		{"1.", time.Time{}},
		{".5", time.Time{}},
		{"1e9", time.Time{}},
		{"1714564800.1234567891", time.Time{}},
		{"99999999999999999999", time.Time{}},
	}
	for _, tt := range tests {
		got, err := parseTimestamp(tt.in)
		switch {
		case tt.want.IsZero() && err == nil:
			t.Errorf("parseTimestamp(%q) = %v, want an error", tt.in, got)
		case !tt.want.IsZero() && (err != nil || !got.Equal(tt.want)):
			t.Errorf("parseTimestamp(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestTailTextAndJSONData(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		text   string
		isText bool
	}{
		{"plain", "hello, world", "hello, world", true},
		{"empty", "", "", true},
		{"UTF-8", "é 日本 😀", "é 日本 😀", true},
		{"tab and backslash as they are", "a\tb\\n", "a\tb\\n", true},
		{"newlines", "a\nb\r\nc", `a\nb\r\nc`, true},
		{"controls", "\x00\x1b[31m\x7f", `\x00\x1b[31m\x7f`, false},
		{"not UTF-8", "a\xff\xfeb\xc3", `a\xff\xfeb\xc3`, false},
		{"Unicode controls and separators", "a\u0085b\u2028c\u2029", `a\u0085b\u2028c\u2029`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendText(nil, []byte(tt.data))); got != tt.text {
				t.Errorf("text of %q = %q, want %q", tt.data, got, tt.text)
			}
			if got := isText([]byte(tt.data)); got != tt.isText {
				t.Errorf("isText(%q) = %v, want %v", tt.data, got, tt.isText)
			}
		})
	}
	// A line separator alone is text: JSON writes it \u2028.
	if !isText([]byte("a\u2028b")) {
		t.Error("isText refuses a line separator")
	}
}

// tailed is a record as a test reads it from tail's output, in the order
// printed.
type tailed struct {
	key  string // from the data: what comes before its first ':'
	data string
}

// checkTailed asserts that got holds the records of wants, each exactly
// once, each key's in the order of wants.
func checkTailed(t *testing.T, got []tailed, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Errorf("%d records printed, want %d", len(got), len(wants))
	}
	byKey := func(rs []want) map[string][]string {
		m := map[string][]string{}
		for _, r := range rs {
			m[r.key] = append(m[r.key], r.data)
		}
		return m
	}
	var gotWants []want
	for _, g := range got {
		gotWants = append(gotWants, want{g.key, g.data})
	}
	gk, wk := byKey(gotWants), byKey(wants)
	for key, ws := range wk {
		if i := firstDifference(gk[key], ws); i >= 0 {
			t.Errorf("key %q: %d records printed, want %d; the first difference is at record %d", key, len(gk[key]), len(ws), i)
		}
	}
	for key := range gk {
		if _, ok := wk[key]; !ok {
			t.Errorf("key %q printed, want none of it", key)
		}
	}
}

func keyOf(data string) string {
	k, _, _ := strings.Cut(data, ":")
	return k
}

// tailJSONLine is a json line, with which fields it has.
type tailJSONLine struct {
	tailJSON
	fields map[string]bool
}

func parseJSONLines(t *testing.T, out string) []tailJSONLine {
	t.Helper()
	var lines []tailJSONLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l tailJSONLine
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			t.Fatalf("line %d is not a JSON object: %v: %s", len(lines)+1, err, sc.Text())
		}
		l.fields = map[string]bool{}
		for f := range fields {
			l.fields[f] = true
		}
		if err := json.Unmarshal(sc.Bytes(), &l.tailJSON); err != nil {
			t.Fatalf("line %d: %v: %s", len(lines)+1, err, sc.Text())
		}
		lines = append(lines, l)
	}
	return lines
}

// hexRecord is a record of the hex format: its header's fields and its
// data read back from the dump.
type hexRecord struct {
	fields map[string]string
	data   []byte
}

var (
	hexHeader = regexp.MustCompile(`^shard=(\S+) sequenceNumber=([0-9]+)(?: subSequenceNumber=([0-9]+))? partitionKey=("(?:[^"\\]|\\.)*")(?: explicitHashKey=([0-9]+))? arrival=(\S+)(?: producerId=(\S+) producerSeq=([0-9]+))? bytes=([0-9]+)$`)
	hexLine   = regexp.MustCompile(`^([0-9a-f]{8})  `)
)

func parseHex(t *testing.T, out string) []hexRecord {
	t.Helper()
	var recs []hexRecord
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if m := hexHeader.FindStringSubmatch(line); m != nil {
			key, err := strconv.Unquote(m[4])
			if err != nil {
				t.Fatalf("line %d: partition key %s: %v", i+1, m[4], err)
			}
			recs = append(recs, hexRecord{fields: map[string]string{
				"shard": m[1], "sequenceNumber": m[2], "subSequenceNumber": m[3], "partitionKey": key,
				"explicitHashKey": m[5], "arrival": m[6], "producerId": m[7], "producerSeq": m[8], "bytes": m[9],
			}})
			continue
		}
		m := hexLine.FindStringSubmatch(line)
		if m == nil || len(recs) == 0 || len(line) < 60 {
			t.Fatalf("line %d is neither a header nor a line of a dump: %q", i+1, line)
		}
		r := &recs[len(recs)-1]
		if off, _ := strconv.ParseUint(m[1], 16, 64); off != uint64(len(r.data)) {
			t.Fatalf("line %d: offset %s, want %x", i+1, m[1], len(r.data))
		}
		b, err := hex.DecodeString(strings.Join(strings.Fields(line[10:58]), ""))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		r.data = append(r.data, b...)
	}
	return recs
}

var arrivalFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestTail: records put by the producer library (aggregated, with IDs),
// plain PutRecords ones, binary ones, some with an explicit hash key,
// into a stream of 3 shards, one split in between; tail prints each
// exactly once, each key's in order, in each format.
func TestTail(t *testing.T) {
	ctx := context.Background()
	endpoint, c := startPutServer(t, nil)
	createStream(t, c, "s", 3, 0)
	p, err := producer.New(ctx, producer.Config{Stream: "s", Client: c})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)

	const keys, plainKeys = 30, 10
	var all, phase2 []want
	binary := map[string]bool{} // data that json gives in base64
	start := time.Now()
	put := func(from, to int, phase *[]want) {
		t.Helper()
		for n := from; n < to; n++ {
			for k := range keys {
				w := want{fmt.Sprint("key-", k), fmt.Sprintf("key-%d:%d", k, n)}
				if _, err := p.Put(ctx, producer.Record{PartitionKey: w.key, Data: []byte(w.data)}); err != nil {
					t.Fatal(err)
				}
				*phase = append(*phase, w)
			}
			if n%4 == 0 { // with an explicit hash key, and binary
				w := want{"ehk", fmt.Sprintf("ehk:%d\x00\xff", n)}
				binary[w.data] = true
				if _, err := p.Put(ctx, producer.Record{PartitionKey: "ehk", ExplicitHashKey: "1", Data: []byte(w.data)}); err != nil {
					t.Fatal(err)
				}
				*phase = append(*phase, w)
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		// Plain records: one PutRecords call a round, a record of each
		// key in each.
		for n := from / 2; n < to/2; n++ {
			var entries []types.PutRecordsRequestEntry
			for k := range plainKeys {
				w := want{fmt.Sprint("plain-", k), fmt.Sprintf("plain-%d:%d", k, n)}
				if k == 0 {
					w = want{"bin", fmt.Sprintf("bin:\x00\xff\n\\%d", n)}
					binary[w.data] = true
				}
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(w.key), Data: []byte(w.data)})
				*phase = append(*phase, w)
			}
			out, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamName: aws.String("s"), Records: entries})
			if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
				t.Fatalf("PutRecords: %v, %d failed", err, aws.ToInt32(out.FailedRecordCount))
			}
		}
	}
	var phase1 []want
	put(0, 20, &phase1)
	time.Sleep(50 * time.Millisecond)
	at := time.Now()
	time.Sleep(50 * time.Millisecond)
	if _, err := c.SplitShard(ctx, &sdk.SplitShardInput{StreamName: aws.String("s"), ShardToSplit: aws.String("shardId-000000000001"),
		NewStartingHashKey: aws.String("170141183460469231731687303715884105728")}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, "s")
	put(20, 40, &phase2)
	end := time.Now()
	all = append(phase1, phase2...)

	// Where each record is: in the shard that holds it and whose hash
	// key range holds its hash key. (The stream holds more: aggregates
	// the producer sent to a shard the split had closed to some of their
	// records, which consumers drop and the producer sent again.)
	ranges := map[string][2]kpl.HashKey{}
	listed, err := c.ListShards(ctx, &sdk.ListShardsInput{StreamName: aws.String("s")})
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range listed.Shards {
		lo, err1 := kpl.ParseHashKey(aws.ToString(sh.HashKeyRange.StartingHashKey))
		hi, err2 := kpl.ParseHashKey(aws.ToString(sh.HashKeyRange.EndingHashKey))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		ranges[aws.ToString(sh.ShardId)] = [2]kpl.HashKey{lo, hi}
	}
	shardOf := map[string]string{}
	truthShards := map[string]bool{}
	for _, r := range readUserRecords(t, c, "s") {
		h := kpl.HashKeyOf(r.key)
		if r.key == "ehk" {
			h, _ = kpl.ParseHashKey("1")
		}
		if rg := ranges[r.shard]; rg[0].Cmp(h) <= 0 && h.Cmp(rg[1]) <= 0 {
			shardOf[r.data] = r.shard
			truthShards[r.shard] = true
		}
	}
	if len(shardOf) != len(all) || len(truthShards) != 5 {
		t.Fatalf("the stream holds %d records on %d shards, want %d on 5", len(shardOf), len(truthShards), len(all))
	}
	shardsOf := func(ws []want) int {
		m := map[string]bool{}
		for _, w := range ws {
			m[shardOf[w.data]] = true
		}
		return len(m)
	}

	// textShard is the shard of each record by its data as the text
	// format prints it.
	textShard := map[string]string{}
	for data, shard := range shardOf {
		textShard[string(appendText(nil, []byte(data)))] = shard
	}
	// fromText parses the text format: one line a record.
	fromText := func(t *testing.T, out string) []tailed {
		var got []tailed
		for line := range strings.SplitSeq(strings.TrimSuffix(out, "\n"), "\n") {
			if line != "" {
				got = append(got, tailed{keyOf(line), line})
			}
		}
		return got
	}
	// textWants is wants as the text format prints them.
	textWants := func(ws []want) []want {
		var out []want
		for _, w := range ws {
			out = append(out, want{w.key, string(appendText(nil, []byte(w.data)))})
		}
		return out
	}

	tests := []struct {
		name  string
		args  []string
		wants []want // as put
		text  bool   // the output is text: wants as the text format prints them
		parse func(t *testing.T, out string) []tailed
	}{
		{name: "text", wants: all, text: true, parse: fromText},
		{name: "json", args: []string{"--format", "json"}, wants: all, parse: func(t *testing.T, out string) []tailed {
			lines := parseJSONLines(t, out)
			ids := map[string]bool{}
			var got []tailed
			for i, l := range lines {
				data := l.Data
				if l.DataEncoding != "" {
					b, err := base64.StdEncoding.DecodeString(l.Data)
					if l.DataEncoding != "base64" || err != nil {
						t.Fatalf("line %d: data %q in %q: %v", i+1, l.Data, l.DataEncoding, err)
					}
					data = string(b)
				}
				got = append(got, tailed{keyOf(data), data})
				where := fmt.Sprintf("record %q", data)
				if binary[data] != l.fields["dataEncoding"] {
					t.Errorf("%s: dataEncoding %q, want base64 only for data that is not text", where, l.DataEncoding)
				}
				if s, ok := shardOf[data]; !ok || l.Shard != s {
					t.Errorf("%s: shard %q, want %q", where, l.Shard, s)
				}
				if len(l.SequenceNumber) < 20 || strings.Trim(l.SequenceNumber, "0123456789") != "" {
					t.Errorf("%s: sequenceNumber %q", where, l.SequenceNumber)
				}
				if l.PartitionKey != keyOf(data) {
					t.Errorf("%s: partitionKey %q, want %q", where, l.PartitionKey, keyOf(data))
				}
				fromProducer := strings.HasPrefix(data, "key-") || strings.HasPrefix(data, "ehk:")
				for _, f := range []string{"subSequenceNumber", "producerId", "producerSeq"} {
					if l.fields[f] != fromProducer {
						t.Errorf("%s: has %s: %v, want %v (only the producer's records are aggregated and have IDs)", where, f, l.fields[f], fromProducer)
					}
				}
				if fromProducer && l.ProducerSeq != nil {
					id := fmt.Sprint(l.ProducerID, ".", *l.ProducerSeq)
					if ids[id] || l.ProducerID == "" || *l.ProducerSeq == 0 {
						t.Errorf("%s: producer ID %s, want a new one", where, id)
					}
					ids[id] = true
				}
				wantEHK := ""
				if strings.HasPrefix(data, "ehk:") {
					wantEHK = "1"
				}
				if l.ExplicitHashKey != wantEHK || l.fields["explicitHashKey"] != (wantEHK != "") {
					t.Errorf("%s: explicitHashKey %q (present: %v), want %q", where, l.ExplicitHashKey, l.fields["explicitHashKey"], wantEHK)
				}
				arrival, err := time.Parse(time.RFC3339, l.Arrival)
				if !arrivalFormat.MatchString(l.Arrival) || err != nil || arrival.Before(start.Truncate(time.Millisecond)) || arrival.After(end) {
					t.Errorf("%s: arrival %q, want RFC 3339 in UTC with ms between %v and %v", where, l.Arrival, start, end)
				}
			}
			return got
		}},
		{name: "hex", args: []string{"--format", "hex"}, wants: all, parse: func(t *testing.T, out string) []tailed {
			var got []tailed
			for _, r := range parseHex(t, out) {
				data := string(r.data)
				got = append(got, tailed{keyOf(data), data})
				where := fmt.Sprintf("record %q", data)
				fromProducer := strings.HasPrefix(data, "key-") || strings.HasPrefix(data, "ehk:")
				f := r.fields
				switch {
				case f["shard"] != shardOf[data]:
					t.Errorf("%s: shard %q, want %q", where, f["shard"], shardOf[data])
				case f["partitionKey"] != keyOf(data):
					t.Errorf("%s: partitionKey %q, want %q", where, f["partitionKey"], keyOf(data))
				case f["bytes"] != strconv.Itoa(len(data)):
					t.Errorf("%s: bytes=%s, want %d", where, f["bytes"], len(data))
				case (f["subSequenceNumber"] != "") != fromProducer || (f["producerId"] != "") != fromProducer:
					t.Errorf("%s: subSequenceNumber=%q producerId=%q, want them for the producer's records only", where, f["subSequenceNumber"], f["producerId"])
				case (f["explicitHashKey"] == "1") != strings.HasPrefix(data, "ehk:"):
					t.Errorf("%s: explicitHashKey=%q", where, f["explicitHashKey"])
				case !arrivalFormat.MatchString(f["arrival"]):
					t.Errorf("%s: arrival=%q", where, f["arrival"])
				}
			}
			return got
		}},
		{name: "at-timestamp RFC 3339", args: []string{"--from", "at-timestamp", "--timestamp", at.Format(time.RFC3339Nano)},
			wants: phase2, text: true, parse: fromText},
		{name: "at-timestamp Unix seconds", args: []string{"--from", "at-timestamp", "--timestamp", fmt.Sprintf("%d.%09d", at.Unix(), at.Nanosecond())},
			wants: phase2, text: true, parse: fromText},
		{name: "latest", args: []string{"--from", "latest"}, wants: nil, text: true, parse: fromText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := tailCLI(ctx, append([]string{"--stream", "s", "--endpoint", endpoint}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
			wants := tt.wants
			if tt.text {
				wants = textWants(wants)
			}
			checkTailed(t, tt.parse(t, stdout), wants)
			checkTailSummary(t, stderr, "s", len(tt.wants), shardsOf(tt.wants))
			bytes := 0
			for _, w := range tt.wants {
				bytes += len(w.data)
			}
			if m := tailSummary.FindStringSubmatch(stderr); m != nil && m[2] != fmt.Sprintf("%.1f", float64(bytes)/(1<<20)) {
				t.Errorf("summary says %s MiB, want %.1f", m[2], float64(bytes)/(1<<20))
			}
			if lines := strings.Count(stderr, "\n"); lines != 1 {
				t.Errorf("stderr has %d lines, want the summary alone:\n%s", lines, stderr)
			}
		})
	}

	// --max: that many records, each the next of its key.
	tw := textWants(all)
	for _, max := range []int{1, 7, 100} {
		code, stdout, stderr := tailCLI(ctx, "--stream", "s", "--endpoint", endpoint, "--max", strconv.Itoa(max))
		if code != 0 {
			t.Fatalf("--max %d: exit %d; stderr:\n%s", max, code, stderr)
		}
		got := fromText(t, stdout)
		if len(got) != max {
			t.Errorf("--max %d printed %d records", max, len(got))
		}
		seen, shards := map[string]int{}, map[string]bool{}
		for _, g := range got {
			var ofKey []string
			for _, w := range tw {
				if w.key == g.key {
					ofKey = append(ofKey, w.data)
				}
			}
			if i := seen[g.key]; i >= len(ofKey) || ofKey[i] != g.data {
				t.Errorf("--max %d: record %q is not the next of its key", max, g.data)
			}
			seen[g.key]++
			shards[textShard[g.data]] = true
		}
		checkTailSummary(t, stderr, "s", max, len(shards))
	}
}

// waitOutput waits up to 10s for cond to hold of out, calling each
// between its checks.
func waitOutput(t *testing.T, what string, out *syncBuffer, cond func(string) bool, each func()) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(out.String()); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not printed in 10s; stdout:\n%s", what, out.String())
		}
		if each != nil {
			each()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTailFollow: --from latest --follow prints the records put after it
// started, none of the old ones, goes on through a split, and exits 0
// when interrupted; --max ends a follow by itself.
func TestTailFollow(t *testing.T) {
	ctx := context.Background()
	endpoint, c := startPutServer(t, nil)
	createStream(t, c, "s", 2, 0)
	put := func(key, ehk, data string) {
		t.Helper()
		in := &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String(key), Data: []byte(data)}
		if ehk != "" {
			in.ExplicitHashKey = aws.String(ehk)
		}
		if _, err := c.PutRecord(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		put(fmt.Sprint("k", i), "", fmt.Sprint("old:", i))
	}

	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(fctx, []string{"tail", "--stream", "s", "--endpoint", endpoint, "--from", "latest", "--follow"}, nil, &stdout, &stderr, env(nil))
	}()
	// Its reading starts at the tips once it has listed the shards: put
	// records until one shows.
	n := 0
	waitOutput(t, "a record put after tail started", &stdout, func(out string) bool { return out != "" }, func() {
		put("new", "", fmt.Sprint("new:", n))
		n++
	})
	// A split while following: the children are read too, after their
	// parent.
	if _, err := c.SplitShard(ctx, &sdk.SplitShardInput{StreamName: aws.String("s"), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864")}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, "s")
	after := map[string]string{ // data: explicit hash key
		"after:low":   "1",                                       // the split shard's first child
		"after:high":  "85070591730234615865843651857942052865",  // its second
		"after:other": "170141183460469231731687303715884105729", // the other shard
	}
	for data, ehk := range after {
		put("after", ehk, data)
	}
	waitOutput(t, "the records put after the split", &stdout, func(out string) bool {
		for data := range after {
			if !strings.Contains(out, data+"\n") {
				return false
			}
		}
		return true
	}, nil)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after the interrupt, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail --follow did not return after the interrupt")
	}

	// The records put after it started: a run of new:i to the last one
	// put, in order, and the three after the split; each once.
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	var news []int
	afters := map[string]int{}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "new:"):
			i, _ := strconv.Atoi(strings.TrimPrefix(l, "new:"))
			news = append(news, i)
		case after[l] != "":
			afters[l]++
		default:
			t.Errorf("printed %q, want only records put after tail started", l)
		}
	}
	for j, i := range news {
		if i != n-len(news)+j {
			t.Errorf("new records printed %v, want a run ending at new:%d, in order", news, n-1)
			break
		}
	}
	for data := range after {
		if afters[data] != 1 {
			t.Errorf("%s printed %d times, want once", data, afters[data])
		}
	}
	// "new" is on the split shard, or on the other; the after records on
	// both children and the other.
	shards := 3
	if half, _ := kpl.ParseHashKey("170141183460469231731687303715884105728"); kpl.HashKeyOf("new").Cmp(half) < 0 {
		shards = 4
	}
	checkTailSummary(t, stderr.String(), "s", len(lines), shards)
	if strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr has more than the summary:\n%s", stderr.String())
	}

	// --max ends a follow: the 20 old records are there to read.
	mctx, mcancel := context.WithTimeout(ctx, 10*time.Second)
	defer mcancel()
	code, out, errOut := tailCLI(mctx, "--stream", "s", "--endpoint", endpoint, "--follow", "--max", "3")
	if code != 0 || mctx.Err() != nil {
		t.Fatalf("--follow --max 3: exit %d, ctx %v; stderr:\n%s", code, mctx.Err(), errOut)
	}
	if got := strings.Count(out, "\n"); got != 3 {
		t.Errorf("--follow --max 3 printed %d records:\n%s", got, out)
	}
	checkTailSummary(t, errOut, "s", 3, -1)
}

// TestTailInterrupted: an interrupt before the tips ends tail at once,
// exit 0, and it says so. The GetRecords in flight (slowed down to 5s
// here) is cancelled, not waited for; its record is not printed, which
// loses nothing: tail reads from the start again next time.
func TestTailInterrupted(t *testing.T) {
	endpoint, c := startPutServer(t, func(cfg *serveConfig) { cfg.Admin, cfg.AdminToken = true, testAdminToken })
	createStream(t, c, "s", 1, 0)
	if _, err := c.PutRecord(context.Background(), &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("r")}); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := faultsCLI("add", "--endpoint", endpoint, "--op", "GetRecords", "--effect", "latency", "--latency", "5s"); code != 0 {
		t.Fatalf("faults add: exit %d: %s", code, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	code, stdout, stderr := tailCLI(ctx, "--stream", "s", "--endpoint", endpoint)
	if code != 0 {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	// Waiting for the GetRecords in flight would take 5s.
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("tail took %v, want it to stop without waiting for the GetRecords in flight", d)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing: the only read was cancelled", stdout)
	}
	if !strings.Contains(stderr, "tributary tail: interrupted before every shard was read to its tip\n") {
		t.Errorf("stderr does not say it was interrupted:\n%s", stderr)
	}
	checkTailSummary(t, stderr, "s", 0, 0)
}

func TestTailMissingStream(t *testing.T) {
	endpoint, _ := startPutServer(t, nil)
	code, stdout, stderr := tailCLI(context.Background(), "--stream", "nope", "--endpoint", endpoint)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := "tributary tail: stream nope: ResourceNotFoundException: Stream nope under account " + testAccount + " not found.\n"
	if stderr != want || stdout != "" {
		t.Errorf("stdout = %q, stderr = %q; want nothing and %q", stdout, stderr, want)
	}
}

// TestTailCallFails: a call the server refuses is shown with the AWS
// error's code and message, and tried again.
func TestTailCallFails(t *testing.T) {
	endpoint, c := startPutServer(t, func(cfg *serveConfig) { cfg.Admin, cfg.AdminToken = true, testAdminToken })
	createStream(t, c, "s", 1, 0)
	for i := range 5 {
		if _, err := c.PutRecord(context.Background(), &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: fmt.Append(nil, "r", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, stderr := faultsCLI("add", "--endpoint", endpoint, "--op", "GetRecords", "--effect", "error", "--count", "2",
		"--error-type", "InvalidArgumentException", "--error-message", "refused by the test"); code != 0 {
		t.Fatalf("faults add: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := tailCLI(context.Background(), "--stream", "s", "--endpoint", endpoint)
	if code != 0 {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	if stdout != "r0\nr1\nr2\nr3\nr4\n" {
		t.Errorf("stdout = %q, want the 5 records", stdout)
	}
	line := "tributary tail: call failed; trying again (shard shardId-000000000000, call GetRecords): InvalidArgumentException: refused by the test\n"
	if n := strings.Count(stderr, line); n != 2 {
		t.Errorf("stderr has %d times %q, want 2:\n%s", n, line, stderr)
	}
	checkTailSummary(t, stderr, "s", 5, 1)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestTailStdoutFails: standard output that cannot be written fails the
// run.
func TestTailStdoutFails(t *testing.T) {
	endpoint, c := startPutServer(t, nil)
	createStream(t, c, "s", 1, 0)
	if _, err := c.PutRecord(context.Background(), &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("r")}); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := runMain(context.Background(), []string{"tail", "--stream", "s", "--endpoint", endpoint}, nil, failingWriter{}, &stderr, env(nil))
	if code != 1 || !strings.Contains(stderr.String(), "tributary tail: writing standard output: no space left on device\n") {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and the write's error", code, stderr.String())
	}
}

// TestTailEFO: --efo reads by enhanced fan-out as a stream consumer it
// registers, and prints the same records as polling.
func TestTailEFO(t *testing.T) {
	endpoint, c := startPutServer(t, nil)
	createStream(t, c, "s", 2, 0)
	for i := range 50 {
		if _, err := c.PutRecord(context.Background(), &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String(fmt.Sprint("k", i%5)), Data: fmt.Appendf(nil, "r%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, stdout, stderr := tailCLI(ctx, "--stream", "s", "--endpoint", endpoint, "--efo", "tailer")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	slices.Sort(got)
	var want []string
	for i := range 50 {
		want = append(want, fmt.Sprintf("r%d", i))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("--efo printed %d records %v, want the 50 put", len(got), got)
	}
	consumers, err := c.ListStreamConsumers(context.Background(), &sdk.ListStreamConsumersInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:" + testAccount + ":stream/s")})
	if err != nil || len(consumers.Consumers) != 1 || aws.ToString(consumers.Consumers[0].ConsumerName) != "tailer" {
		t.Errorf("stream consumers after --efo: %+v, %v; want tailer", consumers, err)
	}
	checkTailSummary(t, stderr, "s", 50, 2)
}

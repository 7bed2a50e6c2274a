package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/cli"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/kpl"
	"github.com/tributary-io/tributary/stream"
)

// putCLI runs "tributary put args..." with stdin and returns its exit
// status, standard output and standard error.
func putCLI(ctx context.Context, stdin io.Reader, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := runMain(ctx, append([]string{"put"}, args...), stdin, &stdout, &stderr, env(nil))
	return code, stdout.String(), stderr.String()
}

// startPutServer runs the real server in memory without throttling (the
// tests read shards back-to-back) and returns its endpoint and a client.
func startPutServer(t *testing.T, edit func(*serveConfig)) (string, *sdk.Client) {
	t.Helper()
	addr, _, _ := runTestServer(t, nil, func(cfg *serveConfig) {
		cfg.Storage = storageMemory
		cfg.Limits = stream.LimitsOff
		if edit != nil {
			edit(cfg)
		}
	})
	return "http://" + addr, testClient(addr)
}

// createStream creates an ACTIVE stream of shards shards, with a maximum
// record size of maxKiB (the default when 0).
func createStream(t *testing.T, c *sdk.Client, name string, shards, maxKiB int) {
	t.Helper()
	in := &sdk.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(int32(shards))}
	if maxKiB > 0 {
		in.MaxRecordSizeInKiB = aws.Int32(int32(maxKiB))
	}
	if _, err := c.CreateStream(context.Background(), in); err != nil {
		t.Fatalf("CreateStream %s: %v", name, err)
	}
	waitActive(t, context.Background(), c, name)
}

// userRecord is a record as a consumer sees it, de-aggregated.
type userRecord struct {
	shard, key, data string
}

// readUserRecords reads every shard of the stream from its start, shard after
// shard, and returns the user records, KPL aggregates de-aggregated, in
// the order read.
func readUserRecords(t *testing.T, c *sdk.Client, name string) []userRecord {
	t.Helper()
	ctx := context.Background()
	shards, err := c.ListShards(ctx, &sdk.ListShardsInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	var out []userRecord
	for _, sh := range shards.Shards {
		id := aws.ToString(sh.ShardId)
		iter := shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
			StreamName: aws.String(name), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		recs, _ := readAll(t, ctx, c, iter)
		for _, r := range recs {
			if !kpl.IsAggregated(r.Data) {
				out = append(out, userRecord{id, aws.ToString(r.PartitionKey), string(r.Data)})
				continue
			}
			users, err := kpl.Deaggregate(r.Data)
			if err != nil {
				t.Fatalf("shard %s, record %s: %v", id, aws.ToString(r.SequenceNumber), err)
			}
			for _, u := range users {
				out = append(out, userRecord{id, u.PartitionKey, string(u.Data)})
			}
		}
	}
	return out
}

// want is a record a test expects in the stream; an empty key is a
// random one.
type want struct{ key, data string }

// checkStream asserts that the stream holds exactly the records of wants:
// each key's records once each and in the order of wants, and the
// records of random keys (want.key "") once each, under keys of their
// own. It returns what it read.
func checkStream(t *testing.T, c *sdk.Client, name string, wants []want) []userRecord {
	t.Helper()
	got := readUserRecords(t, c, name)
	if len(got) != len(wants) {
		t.Errorf("stream %s holds %d records, want %d", name, len(got), len(wants))
	}
	fixed := map[string][]string{} // key -> data, in input order
	var random []string
	for _, w := range wants {
		if w.key == "" {
			random = append(random, w.data)
		} else {
			fixed[w.key] = append(fixed[w.key], w.data)
		}
	}
	gotFixed := map[string][]string{}
	var gotRandom []string
	for _, g := range got {
		if _, ok := fixed[g.key]; ok {
			gotFixed[g.key] = append(gotFixed[g.key], g.data)
			continue
		}
		if g.key == "" {
			t.Errorf("record %.40q has no partition key", g.data)
		}
		gotRandom = append(gotRandom, g.data)
	}
	for key, ws := range fixed {
		gs := gotFixed[key]
		if i := firstDifference(gs, ws); i >= 0 {
			t.Errorf("key %q: %d records, want %d; the first difference is at record %d", key, len(gs), len(ws), i)
		}
	}
	slices.Sort(random)
	slices.Sort(gotRandom)
	if i := firstDifference(gotRandom, random); i >= 0 {
		t.Errorf("records of random keys (sorted): %d, want %d; the first difference is at %d", len(gotRandom), len(random), i)
	}
	return got
}

// firstDifference returns the index of the first element where a and b
// differ, or -1 if they are equal.
func firstDifference(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// summary matches the summary line of a run, capturing the figures.
var summary = regexp.MustCompile(`(?m)^put ([0-9,]+) records? \(([0-9.]+) MiB\) to stream (\S+) in ([0-9.]+)s: ([0-9,]+) stored, ([0-9,]+) failed$`)

// checkSummary asserts the summary line of stderr.
func checkSummary(t *testing.T, stderr, stream string, n, stored, failed int) {
	t.Helper()
	m := summary.FindStringSubmatch(stderr)
	if m == nil {
		t.Errorf("no summary line in stderr:\n%s", stderr)
		return
	}
	if m[1] != cli.Thousands(int64(n)) || m[3] != stream || m[5] != cli.Thousands(int64(stored)) || m[6] != cli.Thousands(int64(failed)) {
		t.Errorf("summary %q, want %d records to stream %s, %d stored, %d failed", m[0], n, stream, stored, failed)
	}
}

func TestPutUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStdout string // substring; "" means empty
		wantStderr string // substring; "" means empty
	}{
		{name: "--help", args: []string{"put", "--help"}, wantStdout: "Usage: tributary put --stream name"},
		{name: "-h", args: []string{"put", "-h"}, wantStdout: "a random key per record"},
		{name: "help put", args: []string{"help", "put"}, wantStdout: "Usage: tributary put"},
		{name: "listed in the commands", args: []string{"help"}, wantStdout: "  put       Write records"},
		{name: "no stream", args: []string{"put"}, wantStatus: 2, wantStderr: "tributary put: --stream is required\n"},
		{name: "--key and --key-field", args: []string{"put", "--stream", "s", "--format", "json", "--key", "k", "--key-field", "id"}, wantStatus: 2,
			wantStderr: "tributary put: --key and --key-field cannot be used together"},
		{name: "--key-field with lines", args: []string{"put", "--stream", "s", "--key-field", "id"}, wantStatus: 2,
			wantStderr: "tributary put: --key-field needs --format json, not lines"},
		{name: "--key-field with raw", args: []string{"put", "--stream", "s", "--format", "raw", "--key-field", "id"}, wantStatus: 2,
			wantStderr: "--key-field needs --format json, not raw"},
		{name: "unknown format", args: []string{"put", "--stream", "s", "--format", "csv"}, wantStatus: 2,
			wantStderr: "must be one of lines, json, base64, raw"},
		{name: "negative rate", args: []string{"put", "--stream", "s", "--rate", "-1"}, wantStatus: 2, wantStderr: "must be a whole number, 0 or more"},
		{name: "empty key", args: []string{"put", "--stream", "s", "--key", ""}, wantStatus: 2, wantStderr: "must not be empty"},
		{name: "key too long", args: []string{"put", "--stream", "s", "--key", strings.Repeat("é", 257)}, wantStatus: 2, wantStderr: "--key must be at most 256 characters"},
		{name: "endpoint not a URL", args: []string{"put", "--stream", "s", "--endpoint", "localhost:4567"}, wantStatus: 2, wantStderr: "must be an http or https URL"},
		{name: "unexpected argument", args: []string{"put", "--stream", "s", "file.txt"}, wantStatus: 2, wantStderr: "unexpected argument \"file.txt\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := runMain(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr, env(nil))
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

// TestPutUsageDocumentsEveryFlag guards the promise that --help explains
// every flag, with its default.
func TestPutUsageDocumentsEveryFlag(t *testing.T) {
	help := putUsage()
	for _, o := range putOptionList() {
		if !strings.Contains(help, "  --"+o.flag+" "+o.arg+"\n") {
			t.Errorf("help does not document --%s", o.flag)
		}
	}
	if n, want := strings.Count(help, "Default: "), len(putOptionList()); n != want {
		t.Errorf("help has %d defaults, want %d", n, want)
	}
}

// TestPut puts records of every format into the real server and reads
// every shard back: each record is there once, with its key, and each
// key's records are in input order.
func TestPut(t *testing.T) {
	endpoint, c := startPutServer(t, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	randomBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}

	type testCase struct {
		name   string
		args   []string
		shards int
		maxKiB int
		input  string
		wants  []want
		// spread: the records must be on every shard.
		spread bool
	}
	var tests []testCase

	{ // 1,000 lines, a random key each.
		var in strings.Builder
		var wants []want
		for i := range 1000 {
			line := fmt.Sprintf("line %04d\twith é %s", i, strings.Repeat("x", i%50))
			in.WriteString(line + "\n")
			wants = append(wants, want{"", line})
		}
		tests = append(tests, testCase{name: "lines random keys", shards: 4, input: in.String(), wants: wants, spread: true})
	}
	{ // 1,000 lines under one key: one shard, in order.
		var in strings.Builder
		var wants []want
		for i := range 1000 {
			line := fmt.Sprintf("record %d", i)
			in.WriteString(line + "\n")
			wants = append(wants, want{"k", line})
		}
		tests = append(tests, testCase{name: "lines --key", args: []string{"--key", "k"}, shards: 4, input: in.String(), wants: wants})
	}
	{ // 1,000 JSON objects over 30 keys, strings and numbers; the data is
		// the line as given, spaces included.
		var in strings.Builder
		var wants []want
		for i := range 1000 {
			var line, key string
			switch i % 3 {
			case 0:
				key = fmt.Sprintf("user-%d", i%10)
				line = fmt.Sprintf(`{"user":%q,"n":%d}`, key, i)
			case 1:
				key = fmt.Sprint(i % 10)
				line = fmt.Sprintf(`{"n": %d, "user": %s, "nested": {"user": "no"}}`, i, key)
			case 2:
				key = fmt.Sprintf("-%d.5e3", i%10)
				line = fmt.Sprintf(`{"user":%s,"n":%d}`, key, i)
			}
			in.WriteString(line + "\n")
			wants = append(wants, want{key, line})
		}
		tests = append(tests, testCase{name: "json --key-field", args: []string{"--format", "json", "--key-field", "user"}, shards: 4, input: in.String(), wants: wants})
	}
	{ // JSON without --key-field: random keys.
		tests = append(tests, testCase{name: "json random keys", args: []string{"--format", "json"}, shards: 2,
			input: "{\"a\":1}\n[1, 2]\n\"s\"\n", wants: []want{{"", `{"a":1}`}, {"", `[1, 2]`}, {"", `"s"`}}})
	}
	{ // Binary records in base64, padded and not, one empty.
		var in strings.Builder
		var wants []want
		for i := range 200 {
			data := randomBytes(i * 7 % 301)
			enc := base64.StdEncoding
			if i%2 == 1 {
				enc = base64.RawStdEncoding
			}
			in.WriteString(enc.EncodeToString(data) + "\n")
			wants = append(wants, want{"b", string(data)})
		}
		tests = append(tests, testCase{name: "base64", args: []string{"--format", "base64", "--key", "b"}, shards: 4, input: in.String(), wants: wants})
	}
	{ // Line ends: \r\n, an empty line, no line end at the end.
		tests = append(tests, testCase{name: "crlf", args: []string{"--key", "k"}, shards: 1, input: "a\r\nb\n\r\n\nc\rd\nlast\r",
			wants: []want{{"k", "a"}, {"k", "b"}, {"k", ""}, {"k", ""}, {"k", "c\rd"}, {"k", "last\r"}}})
	}
	{ // Raw: the whole input, newlines and all, is one record.
		data := string(randomBytes(200<<10)) + "\n\r\n\x00end\n"
		tests = append(tests, testCase{name: "raw", args: []string{"--format", "raw", "--key", "r"}, shards: 4, input: data, wants: []want{{"r", data}}})
		tests = append(tests, testCase{name: "raw random key", args: []string{"--format", "raw"}, shards: 2, input: "one record\nof two lines\n", wants: []want{{"", "one record\nof two lines\n"}}})
	}
	{ // Lines far beyond bufio.Scanner's 64 KiB, in a stream that takes
		// records of up to 10 MiB.
		long1, long2 := strings.Repeat("a", 100<<10), strings.Repeat("b", 3<<19)
		big := strings.Repeat("c", 10<<20-1) // with the key "k": 10 MiB exactly
		tests = append(tests, testCase{name: "long lines", args: []string{"--key", "k"}, shards: 2, maxKiB: 10240,
			input: long1 + "\nshort\n" + long2 + "\n" + big + "\n",
			wants: []want{{"k", long1}, {"k", "short"}, {"k", long2}, {"k", big}}})
		raw := string(randomBytes(3 << 20))
		tests = append(tests, testCase{name: "raw 3 MiB", args: []string{"--format", "raw", "--key", "k"}, shards: 1, maxKiB: 10240, input: raw, wants: []want{{"k", raw}}})
	}

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("put-%d", i)
			createStream(t, c, name, tt.shards, tt.maxKiB)
			code, stdout, stderr := putCLI(context.Background(), strings.NewReader(tt.input),
				append([]string{"--stream", name, "--endpoint", endpoint}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			checkSummary(t, stderr, name, len(tt.wants), len(tt.wants), 0)
			if lines := strings.Count(stderr, "\n"); lines != 1 {
				t.Errorf("stderr has %d lines, want the summary alone:\n%s", lines, stderr)
			}
			bytes := 0
			for _, w := range tt.wants {
				bytes += len(w.data)
			}
			if m := summary.FindStringSubmatch(stderr); m != nil && m[2] != fmt.Sprintf("%.1f", float64(bytes)/(1<<20)) {
				t.Errorf("summary says %s MiB, want %.1f", m[2], float64(bytes)/(1<<20))
			}

			got := checkStream(t, c, name, tt.wants)
			if tt.spread {
				keys, shards := map[string]bool{}, map[string]int{}
				for _, g := range got {
					keys[g.key] = true
					shards[g.shard]++
				}
				if len(keys) != len(tt.wants) {
					t.Errorf("%d distinct keys for %d records, want a key each", len(keys), len(tt.wants))
				}
				if len(shards) != tt.shards {
					t.Errorf("records on %d shards (%v), want all %d", len(shards), shards, tt.shards)
				}
			}
		})
	}
}

// TestPutRefusedLines: lines that cannot be records fail one by one,
// named by their line numbers, and the others are stored in order.
func TestPutRefusedLines(t *testing.T) {
	endpoint, c := startPutServer(t, nil)
	createStream(t, c, "s", 2, 0)
	lines := []string{
		`{"id":"a","n":1}`,
		`{"n":2}`,
		`not json`,
		`{"id":null}`,
		`[1,2]`,
		`{"id":"a","pad":"` + strings.Repeat("p", 1<<20) + `"}`,
		`{"id":""}`,
		`{"id":"a","n":8}`,
		strings.Repeat("z", 10<<20+1),
		`{"id":"a","n":10}`,
		`{"id":"` + strings.Repeat("k", 257) + `"}`,
	}
	code, _, stderr := putCLI(context.Background(), strings.NewReader(strings.Join(lines, "\n")+"\n"),
		"--stream", "s", "--endpoint", endpoint, "--format", "json", "--key-field", "id")
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		"tributary put: line 2: no field \"id\" for --key-field\n",
		"tributary put: line 3: not a JSON value\n",
		"tributary put: line 4: field \"id\" is null, not a string or a number\n",
		"tributary put: line 5: not a JSON object, so no field \"id\" for --key-field\n",
		"tributary put: line 6: " + cli.Thousands(int64(len(lines[5])+1)) + " bytes, data and partition key, is larger than the maximum record size of stream s, 1 MiB (UpdateMaxRecordSize raises it up to 10 MiB)\n",
		"tributary put: and 3 more failures\n",
		"tributary put: 8 records not stored\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not have %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "line 7") {
		t.Errorf("stderr shows a sixth failure:\n%s", stderr)
	}
	checkSummary(t, stderr, "s", len(lines), 3, 8)
	checkStream(t, c, "s", []want{{"a", lines[0]}, {"a", lines[7]}, {"a", lines[9]}})

	// The failures past the first five, shown when they are among them.
	code, _, stderr = putCLI(context.Background(), strings.NewReader(strings.Join(lines[6:], "\n")),
		"--stream", "s", "--endpoint", endpoint, "--format", "json", "--key-field", "id")
	for _, want := range []string{
		"tributary put: line 1: field \"id\" is empty, and a partition key cannot be\n",
		"tributary put: line 3: longer than 10 MiB, the most a line can be for a record of at most 10 MiB\n",
		"tributary put: line 5: field \"id\" is 257 characters long, and a partition key at most 256\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not have %q:\n%s", want, stderr)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	checkSummary(t, stderr, "s", 5, 2, 3)

	// Base64 that is not, and a raw input larger than the stream takes.
	code, _, stderr = putCLI(context.Background(), strings.NewReader("aGk=\n!!\n"), "--stream", "s", "--endpoint", endpoint, "--format", "base64")
	if code != 1 || !strings.Contains(stderr, "tributary put: line 2: not base64: illegal base64 data at input byte 0\n") {
		t.Errorf("bad base64: exit %d, stderr:\n%s", code, stderr)
	}
	checkSummary(t, stderr, "s", 2, 1, 1)
	code, _, stderr = putCLI(context.Background(), strings.NewReader(strings.Repeat("r", 1<<20)), "--stream", "s", "--endpoint", endpoint, "--format", "raw", "--key", "k")
	if code != 1 || !strings.Contains(stderr, "tributary put: the input: 1,048,577 bytes, data and partition key, is larger than the maximum record size of stream s, 1 MiB") {
		t.Errorf("raw too large: exit %d, stderr:\n%s", code, stderr)
	}
	checkSummary(t, stderr, "s", 1, 0, 1)
}

func TestPutMissingStream(t *testing.T) {
	endpoint, _ := startPutServer(t, nil)
	code, _, stderr := putCLI(context.Background(), strings.NewReader("a\n"), "--stream", "nope", "--endpoint", endpoint)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := "tributary put: stream nope: ResourceNotFoundException: Stream nope under account " + testAccount + " not found.\n"
	if stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

// TestPutRate: --rate spaces the records; loosely, on the slow side only.
func TestPutRate(t *testing.T) {
	endpoint, c := startPutServer(t, nil)
	createStream(t, c, "s", 1, 0)
	var in strings.Builder
	var wants []want
	for i := range 50 {
		fmt.Fprintf(&in, "r%d\n", i)
		wants = append(wants, want{"k", fmt.Sprintf("r%d", i)})
	}
	start := time.Now()
	code, _, stderr := putCLI(context.Background(), strings.NewReader(in.String()), "--stream", "s", "--endpoint", endpoint, "--key", "k", "--rate", "100")
	elapsed := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	// 50 records at 100 a second: the last one 0.49s after the first.
	if elapsed < 400*time.Millisecond {
		t.Errorf("50 records at --rate 100 took %v, want at least 0.4s", elapsed)
	}
	checkSummary(t, stderr, "s", 50, 50, 0)
	checkStream(t, c, "s", wants)
}

// TestPutProgress: a run longer than the progress interval prints
// progress lines before the summary.
func TestPutProgress(t *testing.T) {
	endpoint, c := startPutServer(t, nil)
	createStream(t, c, "s", 1, 0)
	defer func(d time.Duration) { putProgressPlain = d }(putProgressPlain)
	putProgressPlain = 200 * time.Millisecond
	code, _, stderr := putCLI(context.Background(), strings.NewReader(strings.Repeat("x\n", 10)), "--stream", "s", "--endpoint", endpoint, "--rate", "10")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	progress := regexp.MustCompile(`(?m)^put: [0-9]+s ([0-9]+) read, ([0-9]+) stored, 0 failed, 0\.0 MiB, [0-9]+ rec/s$`)
	ms := progress.FindAllStringSubmatch(stderr, -1)
	if len(ms) < 2 {
		t.Fatalf("%d progress lines, want at least 2 in a run of 1s every 0.2s:\n%s", len(ms), stderr)
	}
	if first, last := ms[0][1], ms[len(ms)-1][1]; first == last {
		t.Errorf("records read stays at %s in the progress lines:\n%s", first, stderr)
	}
	if i, j := strings.LastIndex(stderr, "put: "), strings.Index(stderr, "put 10 records"); j < i {
		t.Errorf("summary before a progress line:\n%s", stderr)
	}
	checkSummary(t, stderr, "s", 10, 10, 0)
}

// TestPutInterrupt: an interrupt stops the reading of an input that has
// not ended; what was read is stored and reported.
func TestPutInterrupt(t *testing.T) {
	endpoint, c := startPutServer(t, nil)
	createStream(t, c, "s", 1, 0)
	pr, pw := io.Pipe()
	defer pw.Close() // ends the reader blocked in the pipe
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := putCLI(ctx, pr, "--stream", "s", "--endpoint", endpoint, "--key", "k")
		done <- result{code, stderr}
	}()
	var wants []want
	for i := range 10 {
		fmt.Fprintf(pw, "r%d\n", i)
		wants = append(wants, want{"k", fmt.Sprintf("r%d", i)})
	}
	// Wait until all ten are stored, then interrupt.
	for deadline := time.Now().Add(10 * time.Second); len(readUserRecords(t, c, "s")) < 10; {
		if time.Now().After(deadline) {
			t.Fatal("the ten records were not stored")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("put did not return after the interrupt")
	}
	if r.code != 0 {
		t.Errorf("exit %d, want 0 (nothing lost); stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "tributary put: interrupted: stopped reading after line 10\n") {
		t.Errorf("stderr does not say where the reading stopped:\n%s", r.stderr)
	}
	checkSummary(t, r.stderr, "s", 10, 10, 0)
	checkStream(t, c, "s", wants)
}

// TestPutInterruptLosesRecords: records without an answer when the flush
// deadline after an interrupt passes are counted failed, exit 1.
func TestPutInterruptLosesRecords(t *testing.T) {
	endpoint, c := startPutServer(t, func(cfg *serveConfig) { cfg.Admin, cfg.AdminToken = true, testAdminToken })
	createStream(t, c, "s", 1, 0)
	defer func(d time.Duration) { putFlushTimeout = d }(putFlushTimeout)
	putFlushTimeout = 200 * time.Millisecond
	if code, _, stderr := faultsCLI("add", "--endpoint", endpoint, "--op", "PutRecords", "--effect", "latency", "--latency", "2s"); code != 0 {
		t.Fatalf("faults add: exit %d: %s", code, stderr)
	}
	// The input ends at once; the interrupt comes while put waits for
	// the answers.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	code, _, stderr := putCLI(ctx, strings.NewReader("a\nb\nc\n"), "--stream", "s", "--endpoint", endpoint, "--key", "k")
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("put took %v, want it to give up 0.2s after the interrupt at 0.5s", d)
	}
	for _, want := range []string{
		"tributary put: line 1: no answer before the deadline\n",
		"tributary put: line 3: no answer before the deadline\n",
		"tributary put: 3 records had no answer within 200ms of the interrupt, and may or may not be stored\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not have %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "stopped reading") {
		t.Errorf("the input was read to its end, but stderr says otherwise:\n%s", stderr)
	}
	checkSummary(t, stderr, "s", 3, 0, 3)
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name  string
		input string
		max   int
		want  []string // "!" marks a line too long
	}{
		{"empty", "", 10, nil},
		{"one line no end", "abc", 10, []string{"abc"}},
		{"line ends", "a\nb\r\n\n\r\nc\r", 10, []string{"a", "b", "", "", "c\r"}},
		{"at the limit", "0123456789\n0123456789\r\n", 10, []string{"0123456789", "0123456789"}},
		{"over the limit", "0123456789a\nok\n0123456789ab\r\n0123456789abcdef", 10, []string{"!", "ok", "!", "!"}},
		{"longer than the buffer", strings.Repeat("x", 100) + "\n" + strings.Repeat("y", 40) + "\nz", 50, []string{"!", strings.Repeat("y", 40), "z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The smallest buffer bufio allows, so that lines span reads.
			lr := lineReader{r: bufio.NewReaderSize(strings.NewReader(tt.input), 16), max: tt.max}
			var got []string
			for {
				line, err := lr.next()
				if err == io.EOF {
					break
				}
				var tooLong *lineTooLongError
				switch {
				case err == nil:
					got = append(got, string(line))
				case errors.As(err, &tooLong):
					got = append(got, "!")
				default:
					t.Fatal(err)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPutServerRefuses: records the server refuses for good fail with
// the AWS error's code and message.
func TestPutServerRefuses(t *testing.T) {
	endpoint, c := startPutServer(t, func(cfg *serveConfig) { cfg.Admin, cfg.AdminToken = true, testAdminToken })
	createStream(t, c, "s", 2, 0)
	if code, _, stderr := faultsCLI("add", "--endpoint", endpoint, "--op", "PutRecords", "--effect", "error",
		"--error-type", "InvalidArgumentException", "--error-message", "refused by the test"); code != 0 {
		t.Fatalf("faults add: exit %d: %s", code, stderr)
	}
	code, _, stderr := putCLI(context.Background(), strings.NewReader("a\nb\nc\n"), "--stream", "s", "--endpoint", endpoint)
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		"tributary put: line 1: InvalidArgumentException: refused by the test\n",
		"tributary put: line 3: InvalidArgumentException: refused by the test\n",
		"tributary put: 3 records not stored\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not have %q:\n%s", want, stderr)
		}
	}
	checkSummary(t, stderr, "s", 3, 0, 3)
}

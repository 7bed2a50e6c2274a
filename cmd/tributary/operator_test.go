package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// opCLI runs "tributary args..." with stdin (nil for none) and returns
// its exit status, standard output and standard error.
func opCLI(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), args, stdin, &stdout, &stderr, env(nil))
	return code, stdout.String(), stderr.String()
}

// mustOpCLI runs "tributary args..." and fails the test unless it exits 0;
// it returns standard output.
func mustOpCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := opCLI(t, nil, args...)
	if code != 0 {
		t.Fatalf("tributary %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// decodeJSON decodes the one JSON document of out into v.
func decodeJSON(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	if dec.More() {
		t.Fatalf("more than one JSON document in %q", out)
	}
}

// tableRows returns the rows of a table, each split into its columns
// (two spaces or more apart), the header first.
func tableRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		rows = append(rows, regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1))
	}
	return rows
}

func TestStreamsCommands(t *testing.T) {
	t.Parallel()
	endpoint, c := startPutServer(t, nil)
	ep := []string{"--endpoint", endpoint}
	ctx := context.Background()

	// create: a line, and JSON with --retention (which waits for ACTIVE).
	out := mustOpCLI(t, append([]string{"streams", "create", "alpha", "--shards", "3", "--wait"}, ep...)...)
	if want := "created stream alpha: ACTIVE, PROVISIONED, 3 open shards, retention 24h\n"; out != want {
		t.Errorf("create: %q, want %q", out, want)
	}
	var created streamJSON
	decodeJSON(t, mustOpCLI(t, append([]string{"streams", "create", "beta", "--on-demand", "--retention", "48", "--output", "json"}, ep...)...), &created)
	if created.Name != "beta" || created.Status != "ACTIVE" || created.Mode != "ON_DEMAND" || created.RetentionHours != 48 ||
		created.ARN != "arn:aws:kinesis:us-east-1:"+testAccount+":stream/beta" || created.Created == nil || created.OpenShards < 1 {
		t.Errorf("create --output json: %+v", created)
	}
	// More streams than a page of --page-size 2.
	for _, name := range []string{"gamma", "delta", "epsilon"} {
		mustOpCLI(t, append([]string{"streams", "create", name, "--shards", "1"}, ep...)...)
	}
	names := []string{"alpha", "beta", "delta", "epsilon", "gamma"}

	// list, table.
	rows := tableRows(mustOpCLI(t, append([]string{"streams", "list", "--page-size", "2"}, ep...)...))
	if want := []string{"NAME", "STATUS", "MODE", "OPEN SHARDS", "RETENTION", "CREATED"}; !slices.Equal(rows[0], want) {
		t.Errorf("list header %q, want %q", rows[0], want)
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[0])
		if r[0] == "alpha" && !slices.Equal(r[1:5], []string{"ACTIVE", "PROVISIONED", "3", "24h"}) {
			t.Errorf("list row %q, want alpha ACTIVE PROVISIONED 3 24h", r)
		}
		if r[0] == "beta" && !slices.Equal(r[1:3], []string{"ACTIVE", "ON_DEMAND"}) || r[0] == "beta" && r[4] != "48h" {
			t.Errorf("list row %q, want beta ACTIVE ON_DEMAND ... 48h", r)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, names) {
		t.Errorf("list (pages of 2) names %q, want %q", got, names)
	}

	// list, JSON.
	var list []streamJSON
	decodeJSON(t, mustOpCLI(t, append([]string{"streams", "list", "--page-size", "2", "--output", "json"}, ep...)...), &list)
	got = got[:0]
	for _, s := range list {
		got = append(got, s.Name)
		if s.Name == "gamma" && (s.OpenShards != 1 || s.Mode != "PROVISIONED" || s.Status != "ACTIVE" || s.RetentionHours != 24) {
			t.Errorf("list --output json: gamma %+v", s)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, names) {
		t.Errorf("list --output json names %q, want %q", got, names)
	}

	// describe: tags and consumers.
	arn := "arn:aws:kinesis:us-east-1:" + testAccount + ":stream/alpha"
	if _, err := c.AddTagsToStream(ctx, &sdk.AddTagsToStreamInput{StreamName: aws.String("alpha"), Tags: map[string]string{"team": "data", "env": "test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterStreamConsumer(ctx, &sdk.RegisterStreamConsumerInput{StreamARN: aws.String(arn), ConsumerName: aws.String("reader")}); err != nil {
		t.Fatal(err)
	}
	out = mustOpCLI(t, append([]string{"streams", "describe", "alpha"}, ep...)...)
	for _, want := range []string{"Name:", "alpha", "ARN:", arn, "Open shards:", "Retention:", "Encryption:", "NONE", "Consumers:", "Tags:", "env=test", "team=data"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe: no %q in\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^Consumers:\s+1$`).MatchString(out) || !regexp.MustCompile(`(?m)^Open shards:\s+3$`).MatchString(out) {
		t.Errorf("describe: want 1 consumer and 3 open shards in\n%s", out)
	}
	var d streamDetailJSON
	decodeJSON(t, mustOpCLI(t, append([]string{"streams", "describe", arn, "--output", "json"}, ep...)...), &d)
	if d.Name != "alpha" || d.ARN != arn || d.OpenShards != 3 || d.Consumers != 1 || d.Encryption != "NONE" ||
		d.Tags["team"] != "data" || d.Tags["env"] != "test" || len(d.Tags) != 2 || d.EnhancedMonitoring == nil {
		t.Errorf("describe --output json: %+v", d)
	}

	// reshard: a number of shards, a split, a merge.
	out = mustOpCLI(t, append([]string{"streams", "reshard", "gamma", "--shards", "2", "--wait"}, ep...)...)
	if want := "resharded stream gamma: ACTIVE, PROVISIONED, 2 open shards, retention 24h\n"; out != want {
		t.Errorf("reshard --shards: %q, want %q", out, want)
	}
	var rs streamJSON
	decodeJSON(t, mustOpCLI(t, append([]string{"streams", "reshard", "delta", "--split", "shardId-000000000000", "--wait", "--output", "json"}, ep...)...), &rs)
	if rs.Name != "delta" || rs.OpenShards != 2 || rs.Status != "ACTIVE" {
		t.Errorf("reshard --split: %+v, want delta with 2 open shards", rs)
	}
	shards, err := listAllShards(ctx, c, "delta", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 3 || aws.ToString(shards[2].HashKeyRange.StartingHashKey) != "170141183460469231731687303715884105728" {
		t.Errorf("split at the middle: shards %+v", shards)
	}
	decodeJSON(t, mustOpCLI(t, append([]string{"streams", "reshard", "delta", "--merge", "shardId-000000000001", "shardId-000000000002", "--wait", "--output", "json"}, ep...)...), &rs)
	if rs.OpenShards != 1 {
		t.Errorf("reshard --merge: %+v, want 1 open shard", rs)
	}

	// delete, then the stream is gone.
	var del map[string]string
	decodeJSON(t, mustOpCLI(t, append([]string{"streams", "delete", "epsilon", "--wait", "--output", "json"}, ep...)...), &del)
	if del["name"] != "epsilon" || del["status"] != "DELETED" {
		t.Errorf("delete --output json: %v", del)
	}
	code, _, stderr := opCLI(t, nil, append([]string{"streams", "describe", "epsilon"}, ep...)...)
	if want := "tributary streams: ResourceNotFoundException: Stream epsilon under account " + testAccount + " not found.\n"; code != 1 || stderr != want {
		t.Errorf("describe after delete: exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
	code, _, stderr = opCLI(t, nil, append([]string{"streams", "delete", "alpha"}, ep...)...)
	if code != 1 || !strings.Contains(stderr, "tributary streams: ResourceInUseException:") {
		t.Errorf("delete with a consumer: exit %d, stderr %q; want 1 and ResourceInUseException", code, stderr)
	}
	out = mustOpCLI(t, append([]string{"streams", "delete", "alpha", "--enforce-consumer-deletion"}, ep...)...)
	if out != "deleted stream alpha: DELETING\n" {
		t.Errorf("delete --enforce-consumer-deletion: %q", out)
	}
}

func TestShardsCommand(t *testing.T) {
	t.Parallel()
	endpoint, c := startPutServer(t, nil)
	ep := []string{"--endpoint", endpoint}
	createStream(t, c, "s", 2, 0)
	mustOpCLI(t, append([]string{"streams", "reshard", "s", "--split", "shardId-000000000000", "--wait"}, ep...)...)

	// Pages of one shard: every page read, parents before children.
	var shards []shardJSON
	decodeJSON(t, mustOpCLI(t, append([]string{"shards", "s", "--page-size", "1", "--output", "json"}, ep...)...), &shards)
	var ids []string
	for _, s := range shards {
		ids = append(ids, s.ShardID)
	}
	if want := []string{"shardId-000000000000", "shardId-000000000002", "shardId-000000000003", "shardId-000000000001"}; !slices.Equal(ids, want) {
		t.Fatalf("shards in order %q, want %q", ids, want)
	}
	s0, s2, s1 := shards[0], shards[1], shards[3]
	if s0.Open || s0.EndingSequenceNumber == "" || len(s0.Parents) != 0 || s0.HashKeyStart != "0" || s0.HashKeyEnd != "170141183460469231731687303715884105727" {
		t.Errorf("closed parent: %+v", s0)
	}
	if !s2.Open || s2.EndingSequenceNumber != "" || !slices.Equal(s2.Parents, []string{"shardId-000000000000"}) ||
		s2.HashKeyStart != "0" || s2.HashKeyEnd != "85070591730234615865843651857942052863" || s2.StartingSequenceNumber == "" {
		t.Errorf("child: %+v", s2)
	}
	if !s1.Open || s1.HashKeyEnd != "340282366920938463463374607431768211455" {
		t.Errorf("untouched shard: %+v", s1)
	}

	rows := tableRows(mustOpCLI(t, append([]string{"shards", "s"}, ep...)...))
	if want := []string{"SHARD", "PARENTS", "HASH KEYS", "STATE", "SEQUENCE NUMBERS"}; !slices.Equal(rows[0], want) {
		t.Errorf("header %q, want %q", rows[0], want)
	}
	if len(rows) != 5 {
		t.Fatalf("table has %d rows, want a header and 4 shards: %q", len(rows), rows)
	}
	if r := rows[1]; r[0] != "shardId-000000000000" || r[1] != "-" || r[2] != "0-1.7014e38" || r[3] != "closed" {
		t.Errorf("row of the parent %q", r)
	}
	if r := rows[2]; r[0] != "└ shardId-000000000002" || r[1] != "shardId-000000000000" || r[2] != "0-8.5071e37" || r[3] != "open" || !strings.HasSuffix(r[4], "-") {
		t.Errorf("row of a child %q", r)
	}

	code, _, stderr := opCLI(t, nil, append([]string{"shards", "nope"}, ep...)...)
	if code != 1 || stderr != "tributary shards: ResourceNotFoundException: Stream nope under account "+testAccount+" not found.\n" {
		t.Errorf("unknown stream: exit %d, stderr %q", code, stderr)
	}
}

// TestLineageOrder: each shard after its parents, a merged shard after
// both, children under the parent in the order listed.
func TestLineageOrder(t *testing.T) {
	shard := func(id string, parents ...string) types.Shard {
		s := types.Shard{ShardId: aws.String(id)}
		if len(parents) > 0 {
			s.ParentShardId = aws.String(parents[0])
		}
		if len(parents) > 1 {
			s.AdjacentParentShardId = aws.String(parents[1])
		}
		return s
	}
	tests := []struct {
		name   string
		shards []types.Shard
		want   []string // id:depth
	}{
		{"no lineage", []types.Shard{shard("a"), shard("b")}, []string{"a:0", "b:0"}},
		{"split", []types.Shard{shard("a"), shard("b"), shard("c", "a"), shard("d", "a")}, []string{"a:0", "c:1", "d:1", "b:0"}},
		{"merge after both parents", []types.Shard{shard("a"), shard("b"), shard("c", "a", "b")}, []string{"a:0", "b:0", "c:1"}},
		{"merge of children", []types.Shard{shard("a"), shard("b", "a"), shard("c", "a"), shard("d", "b", "c")}, []string{"a:0", "b:1", "c:1", "d:2"}},
		{"parent expired", []types.Shard{shard("c", "gone"), shard("d", "c")}, []string{"c:0", "d:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range lineageOrder(tt.shards) {
				got = append(got, fmt.Sprintf("%s:%d", s.ShardID, s.depth))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConsumersCommands(t *testing.T) {
	t.Parallel()
	endpoint, c := startPutServer(t, nil)
	ep := []string{"--endpoint", endpoint}
	createStream(t, c, "s", 1, 0)
	arn := "arn:aws:kinesis:us-east-1:" + testAccount + ":stream/s"

	var reg consumerJSON
	decodeJSON(t, mustOpCLI(t, append([]string{"consumers", "register", "s", "one", "--wait", "--output", "json"}, ep...)...), &reg)
	if reg.Name != "one" || reg.Status != "ACTIVE" || !strings.HasPrefix(reg.ARN, arn+"/consumer/one:") || reg.Created == nil {
		t.Errorf("register --output json: %+v", reg)
	}
	out := mustOpCLI(t, append([]string{"consumers", "register", arn, "two"}, ep...)...)
	if !regexp.MustCompile(`^registered consumer two: (CREATING|ACTIVE), ` + regexp.QuoteMeta(arn) + `/consumer/two:\d+\n$`).MatchString(out) {
		t.Errorf("register: %q", out)
	}

	rows := tableRows(mustOpCLI(t, append([]string{"consumers", "list", "s"}, ep...)...))
	if want := []string{"NAME", "STATUS", "CREATED", "ARN"}; !slices.Equal(rows[0], want) {
		t.Errorf("header %q, want %q", rows[0], want)
	}
	var names []string
	for _, r := range rows[1:] {
		names = append(names, r[0])
		if r[0] == "one" && (r[1] != "ACTIVE" || r[3] != reg.ARN) {
			t.Errorf("row %q, want one ACTIVE ... %s", r, reg.ARN)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"one", "two"}) {
		t.Errorf("list: %q, want one and two", names)
	}

	var del map[string]string
	decodeJSON(t, mustOpCLI(t, append([]string{"consumers", "deregister", "s", "two", "--output", "json"}, ep...)...), &del)
	if del["name"] != "two" || del["status"] != "DELETING" {
		t.Errorf("deregister --output json: %v", del)
	}
	var list []consumerJSON
	decodeJSON(t, mustOpCLI(t, append([]string{"consumers", "list", "s", "--output", "json"}, ep...)...), &list)
	for _, x := range list {
		if x.Name == "two" && x.Status != "DELETING" || x.Name == "one" && x.ARN != reg.ARN {
			t.Errorf("list --output json after deregister: %+v", x)
		}
	}
	if len(list) == 0 || list[0].Name != "one" && (len(list) < 2 || list[1].Name != "one") {
		t.Errorf("list --output json: %+v, want one listed", list)
	}

	code, _, stderr := opCLI(t, nil, append([]string{"consumers", "deregister", "s", "never"}, ep...)...)
	if code != 1 || !strings.HasPrefix(stderr, "tributary consumers: ResourceNotFoundException: ") {
		t.Errorf("deregister unknown: exit %d, stderr %q", code, stderr)
	}
}

// TestOperatorUnknownStream: every command that names a stream fails
// with exit 1 and the AWS error's code and message.
func TestOperatorUnknownStream(t *testing.T) {
	t.Parallel()
	endpoint, _ := startPutServer(t, nil)
	want := "ResourceNotFoundException: Stream nope under account " + testAccount + " not found."
	out := filepath.Join(t.TempDir(), "out.ndjson")
	in := filepath.Join(t.TempDir(), "in.ndjson")
	if err := os.WriteFile(in, []byte(`{"data":"YQ==","key":"k"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"streams", "describe", "nope"}, {"streams", "delete", "nope"}, {"streams", "reshard", "nope", "--shards", "2"},
		{"shards", "nope"}, {"consumers", "list", "nope"}, {"consumers", "register", "nope", "c"},
		{"capture", "--stream", "nope", "--out", out}, {"replay", "--in", in, "--stream", "nope"},
	} {
		code, stdout, stderr := opCLI(t, nil, append(args, "--endpoint", endpoint)...)
		if code != 1 || stdout != "" || !strings.HasPrefix(stderr, "tributary "+args[0]+": ") || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and %q", args, code, stdout, stderr, want)
		}
	}
}

// TestClientEndpointFromEnvironment: without --endpoint, the client
// commands go where AWS_ENDPOINT_URL_KINESIS, else AWS_ENDPOINT_URL,
// says; against AWS without credentials they fail, saying so.
func TestClientEndpointFromEnvironment(t *testing.T) {
	endpoint, c := startPutServer(t, nil)
	createStream(t, c, "envstream", 1, 0)
	// Nothing of the machine's AWS setup.
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL_KINESIS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	if out := mustOpCLI(t, "streams", "list"); !strings.Contains(out, "envstream") {
		t.Errorf("AWS_ENDPOINT_URL: list %q, want envstream", out)
	}
	// The service's own variable first.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_KINESIS", endpoint)
	if out := mustOpCLI(t, "shards", "envstream", "--output", "json"); !strings.Contains(out, `"shardId": "shardId-000000000000"`) {
		t.Errorf("AWS_ENDPOINT_URL_KINESIS: shards %q", out)
	}
	// --endpoint over both.
	t.Setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:1")
	if code, _, stderr := opCLI(t, strings.NewReader("x\n"), "put", "--stream", "envstream", "--endpoint", endpoint); code != 0 {
		t.Errorf("put --endpoint: exit %d, stderr %s", code, stderr)
	}
	if code, _, stderr := opCLI(t, nil, "tail", "--stream", "envstream"); code != 1 || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Errorf("tail with AWS_ENDPOINT_URL_KINESIS of a closed port: exit %d, stderr %q; want 1 and the port", code, stderr)
	}

	// AWS itself needs credentials, and the chain has none here.
	code, _, stderr := opCLI(t, nil, "streams", "list", "--endpoint", "aws", "--region", "eu-west-1")
	if code != 1 || !strings.HasPrefix(stderr, "tributary streams: no AWS credentials: ") {
		t.Errorf("--endpoint aws without credentials: exit %d, stderr %q", code, stderr)
	}
	// With keys in the environment, they sign the calls to Tributary.
	t.Setenv("AWS_ENDPOINT_URL_KINESIS", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	cl, err := newKinesisClient(context.Background(), "", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cl.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDENVIRONMENT" || cl.Endpoint != endpoint || cl.Region != defaultRegion {
		t.Errorf("client: key %q (%v), endpoint %q, region %q; want the environment's key, %s, %s", creds.AccessKeyID, err, cl.Endpoint, cl.Region, endpoint, defaultRegion)
	}
}

func TestAPICommand(t *testing.T) {
	t.Parallel()
	endpoint, c := startPutServer(t, nil)
	ep := []string{"--endpoint", endpoint}
	createStream(t, c, "raw", 2, 0)

	out := mustOpCLI(t, append([]string{"api", "ListStreams", `{"Limit": 5}`}, ep...)...)
	var ls struct{ StreamNames []string }
	if err := json.Unmarshal([]byte(out), &ls); err != nil || !slices.Equal(ls.StreamNames, []string{"raw"}) {
		t.Errorf("api ListStreams: %q (%v)", out, err)
	}
	code, out, stderr := opCLI(t, strings.NewReader(`{"StreamName":"raw"}`), append([]string{"api", "DescribeStreamSummary", "-"}, ep...)...)
	var ds struct {
		StreamDescriptionSummary struct{ StreamName, StreamStatus string }
	}
	if err := json.Unmarshal([]byte(out), &ds); code != 0 || err != nil || ds.StreamDescriptionSummary.StreamName != "raw" || ds.StreamDescriptionSummary.StreamStatus != "ACTIVE" {
		t.Errorf("api DescribeStreamSummary - : exit %d, %q, stderr %q", code, out, stderr)
	}

	tests := []struct {
		name, op, body, wantStderr string
	}{
		{"bad JSON", "ListStreams", `{"Limit": `, "tributary api: SerializationException\n"},
		{"unknown operation", "Frobnicate", `{}`, "tributary api: UnknownOperationException\n"},
		{"unknown stream", "DescribeStreamSummary", `{"StreamName":"nope"}`,
			"tributary api: ResourceNotFoundException: Stream nope under account " + testAccount + " not found.\n"},
	}
	for _, tt := range tests {
		code, stdout, stderr := opCLI(t, nil, append([]string{"api", tt.op, tt.body}, ep...)...)
		if code != 1 || stdout != "" || stderr != tt.wantStderr {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1 and %q", tt.name, code, stdout, stderr, tt.wantStderr)
		}
	}
}

func TestOperatorUsage(t *testing.T) {
	tests := []struct {
		args       []string
		wantStatus int
		wantStdout string
		wantStderr string
	}{
		{[]string{"help"}, 0, "  streams    List, create, describe, delete or reshard streams", ""},
		{[]string{"streams", "--help"}, 0, "Usage: tributary streams <subcommand>", ""},
		{[]string{"help", "streams"}, 0, "Usage: tributary streams <subcommand>", ""},
		{[]string{"streams", "create", "--help"}, 0, "Usage: tributary streams create NAME [--shards n | --on-demand]", ""},
		{[]string{"streams", "list", "-h"}, 0, "  --page-size n\n", ""},
		{[]string{"shards", "--help"}, 0, "endingSequenceNumber", ""},
		{[]string{"consumers", "register", "--help"}, 0, "  --wait\n", ""},
		{[]string{"capture", "--help"}, 0, "subSequence", ""},
		{[]string{"replay", "--help"}, 0, "  --speed max|n\n", ""},
		{[]string{"api", "--help"}, 0, "Kinesis_20131202.OPERATION", ""},
		{[]string{"help", "api"}, 0, "Usage: tributary api OPERATION", ""},
		{[]string{"streams"}, 2, "", "tributary streams: missing subcommand\n"},
		{[]string{"streams", "frob"}, 2, "", "tributary streams: unknown subcommand \"frob\"\n"},
		{[]string{"streams", "create"}, 2, "", "tributary streams create: missing stream name\n\nRun 'tributary streams create --help' for the flags.\n"},
		{[]string{"streams", "create", "s", "--shards", "2", "--on-demand"}, 2, "", "--shards and --on-demand cannot be used together"},
		{[]string{"streams", "create", "s", "--retention", "12"}, 2, "", "--retention must be 24 to 8760 hours"},
		{[]string{"streams", "list", "extra"}, 2, "", "unexpected argument \"extra\""},
		{[]string{"streams", "list", "--output", "yaml"}, 2, "", "must be one of table, json"},
		{[]string{"streams", "reshard", "s"}, 2, "", "one of --shards, --split or --merge is required"},
		{[]string{"streams", "reshard", "s", "--merge", "a"}, 2, "", "missing adjacent shard"},
		{[]string{"streams", "reshard", "s", "--split", "a", "--at", "x"}, 2, "", "must be a decimal hash key"},
		{[]string{"shards"}, 2, "", "tributary shards: missing stream name or ARN\n"},
		{[]string{"consumers", "register", "s"}, 2, "", "missing consumer name"},
		{[]string{"capture", "--stream", "s"}, 2, "", "tributary capture: --out is required\n"},
		{[]string{"capture", "--stream", "s", "--out", "f", "--from", "at-timestamp"}, 2, "", "--from at-timestamp needs --timestamp"},
		{[]string{"replay", "--in", "f"}, 2, "", "tributary replay: --stream is required\n"},
		{[]string{"replay", "--in", "f", "--stream", "s", "--speed", "0"}, 2, "", `must be "max" or a positive number`},
		{[]string{"replay", "--in", "f", "--stream", "s", "--rate-limit", "0"}, 2, "", "must be a number above 0"},
		{[]string{"api"}, 2, "", "tributary api: missing operation\n"},
		{[]string{"api", "ListStreams", "{}", "more"}, 2, "", "unexpected argument \"more\""},
		{[]string{"api", "ListStreams", "--endpoint", "localhost"}, 2, "", `must be an http or https URL such as http://127.0.0.1:4567, or "aws"`},
	}
	for _, tt := range tests {
		code, stdout, stderr := opCLI(t, nil, tt.args...)
		if code != tt.wantStatus || !strings.Contains(stdout, tt.wantStdout) || tt.wantStdout == "" && stdout != "" ||
			!strings.Contains(stderr, tt.wantStderr) || tt.wantStderr == "" && stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q, %q", tt.args, code, stdout, stderr, tt.wantStatus, tt.wantStdout, tt.wantStderr)
		}
	}
}

// TestOperatorHelpDocumentsEveryFlag: each operator command's --help
// gives every flag it takes a default, and takes every flag it lists.
func TestOperatorHelpDocumentsEveryFlag(t *testing.T) {
	for _, cmd := range [][]string{
		{"streams", "list"}, {"streams", "create"}, {"streams", "describe"}, {"streams", "delete"}, {"streams", "reshard"},
		{"shards"}, {"consumers", "list"}, {"consumers", "register"}, {"consumers", "deregister"},
		{"capture"}, {"replay"}, {"api"},
	} {
		help := mustOpCLI(t, append(slices.Clone(cmd), "--help")...)
		_, flagHelp, _ := strings.Cut(help, "\nFlags:\n")
		flags := regexp.MustCompile(`(?m)^  --([a-z-]+)`).FindAllStringSubmatch(flagHelp, -1)
		if n := strings.Count(flagHelp, "Default: "); len(flags) < 2 || n != len(flags) {
			t.Errorf("%v --help: %d flags, %d defaults", cmd, len(flags), n)
		}
		for _, f := range flags {
			// A flag the command does not take is a usage error naming it;
			// one it takes fails later, or not at all, but not so.
			_, _, stderr := opCLI(t, nil, append(slices.Clone(cmd), "--"+f[1]+"=x", "--help")...)
			if strings.Contains(stderr, "flag provided but not defined") {
				t.Errorf("%v: --%s listed but not taken", cmd, f[1])
			}
		}
	}
}

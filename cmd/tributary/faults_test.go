package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// startFaultServer runs the real server in memory with cfg changed by
// edit, and returns its address and logs.
func startFaultServer(t *testing.T, edit func(*serveConfig)) (string, *syncBuffer) {
	t.Helper()
	addr, logs, _ := runTestServer(t, nil, func(cfg *serveConfig) {
		cfg.Storage = storageMemory
		cfg.AdminToken = testAdminToken
		edit(cfg)
	})
	return addr, logs
}

// testAdminToken is the admin token of startFaultServer's servers, which
// faultsCLI passes in TRIBUTARY_ADMIN_TOKEN.
const testAdminToken = "test-admin-token-0123456789"

// faultsCLI runs "tributary faults args..." with the test's admin token
// in the environment and returns its exit status and output.
func faultsCLI(args ...string) (int, string, string) {
	return faultsCLIEnv(map[string]string{adminTokenEnv: testAdminToken}, args...)
}

// faultsCLIEnv runs "tributary faults args..." in the environment e.
func faultsCLIEnv(e map[string]string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), append([]string{"faults"}, args...), nil, &stdout, &stderr, env(e))
	return code, stdout.String(), stderr.String()
}

// TestFaultsAdminToken: the CLI sends the token from --admin-token or
// the environment; without it, or with a wrong one, the server refuses;
// serve --admin without a token makes one and logs it once.
func TestFaultsAdminToken(t *testing.T) {
	addr, logs := startFaultServer(t, func(c *serveConfig) { c.Admin = true; c.AdminToken = "" })
	ep := "http://" + addr
	var generated string
	n := 0
	for _, rec := range logs.records(t) {
		if tok, ok := rec["admin_token"].(string); ok {
			generated, n = tok, n+1
		}
	}
	if n != 1 || len(generated) < 32 {
		t.Fatalf("generated token logged %d times: %q", n, generated)
	}
	if code, _, errOut := faultsCLIEnv(nil, "list", "--endpoint", ep); code != 1 || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "needs its token") {
		t.Errorf("without a token: exit %d, %s", code, errOut)
	}
	if code, _, errOut := faultsCLIEnv(map[string]string{adminTokenEnv: testAdminToken}, "list", "--endpoint", ep); code != 1 || !strings.Contains(errOut, "401") {
		t.Errorf("with a wrong token: exit %d, %s", code, errOut)
	}
	if code, out, errOut := faultsCLIEnv(nil, "list", "--endpoint", ep, "--admin-token", generated); code != 0 || !strings.Contains(out, `"rules"`) {
		t.Errorf("--admin-token: exit %d, %s %s", code, out, errOut)
	}
	if code, out, errOut := faultsCLIEnv(map[string]string{adminTokenEnv: generated}, "list", "--endpoint", ep); code != 0 || !strings.Contains(out, `"rules"`) {
		t.Errorf("%s: exit %d, %s %s", adminTokenEnv, code, out, errOut)
	}
}

func mustCLI(t *testing.T, want string, args ...string) string {
	t.Helper()
	code, out, errOut := faultsCLI(args...)
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("tributary faults %s: exit %d, stdout %q, stderr %q; want stdout containing %q", strings.Join(args, " "), code, out, errOut, want)
	}
	return out
}

func TestFaultsEndToEnd(t *testing.T) {
	addr, logs := startFaultServer(t, func(c *serveConfig) { c.Admin = true })
	if !strings.Contains(logs.String(), "fault injection is possible") {
		t.Error("no warning that the admin API is on")
	}
	ep := "http://" + addr
	ctx := context.Background()
	c := testClient(addr)
	createActive(t, ctx, c, "s")

	mustCLI(t, `"id":"f1"`, "add", "--endpoint", ep, "--op", "PutRecord", "--stream", "s",
		"--effect", "error", "--error-type", "ProvisionedThroughputExceededException", "--count", "1")
	_, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("x")})
	wantAPIError(t, err, "ProvisionedThroughputExceededException", "Rate exceeded for stream s under account "+testAccount+".")
	if _, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("ok")}); err != nil {
		t.Fatalf("PutRecord after the count was spent: %v", err)
	}

	mustCLI(t, `"id":"f2"`, "add", "--endpoint", ep, "--op", "PutRecords", "--effect", "put_records_failures",
		"--fraction", "1", "--error-code", "InternalFailure")
	mustCLI(t, `"id":"f3"`, "add", "--endpoint", ep, "--op", "GetRecords", "--effect", "latency", "--latency", "30ms", "--probability", "0.5", "--seed", "9")
	out, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("a"), Data: []byte("lost1")}, {PartitionKey: aws.String("b"), Data: []byte("lost2")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.FailedRecordCount) != 2 || aws.ToString(out.Records[0].ErrorCode) != "InternalFailure" ||
		aws.ToString(out.Records[1].ErrorMessage) != "Internal service failure." {
		t.Fatalf("PutRecords: %d failed, %+v", aws.ToInt32(out.FailedRecordCount), out.Records)
	}

	list := mustCLI(t, `"id":"f2"`, "list", "--endpoint", ep)
	if strings.Contains(list, `"id":"f1"`) || !strings.Contains(list, `"seed":9`) {
		t.Errorf("list: %s", list)
	}
	mustCLI(t, "", "clear", "--endpoint", ep, "--id", "f2")
	if list := mustCLI(t, `"id":"f3"`, "list", "--endpoint", ep); strings.Contains(list, `"id":"f2"`) {
		t.Errorf("f2 still listed: %s", list)
	}
	mustCLI(t, "", "clear", "--endpoint", ep)
	mustCLI(t, `{"rules":[]}`, "list", "--endpoint", ep)

	// With the rules gone, only the record put outside a fault is stored.
	recs, _ := readAll(t, ctx, c, shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
		StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
	if len(recs) != 1 || string(recs[0].Data) != "ok" {
		t.Errorf("stored %d records, want only \"ok\"", len(recs))
	}

	failures := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown id", []string{"clear", "--endpoint", ep, "--id", "f9"}, 1, `no fault rule with id "f9"`},
		{"invalid rule", []string{"add", "--endpoint", ep, "--op", "PutRecords", "--effect", "error"}, 2, "effect error needs error_type"},
		{"unknown flag", []string{"list", "--endpoint", ep, "--bogus"}, 2, "flag provided but not defined"},
		{"bad endpoint", []string{"list", "--endpoint", "localhost"}, 2, "must be an http:// or https:// URL"},
		{"unknown command", []string{"explode"}, 2, `unknown command "explode"`},
		{"unreachable", []string{"list", "--endpoint", "http://127.0.0.1:1"}, 1, "connect"},
	}
	for _, f := range failures {
		code, _, errOut := faultsCLI(f.args...)
		if code != f.code || !strings.Contains(errOut, f.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", f.name, code, errOut, f.code, f.want)
		}
	}
}

func TestFaultsAdminOff(t *testing.T) {
	addr, _ := startFaultServer(t, func(*serveConfig) {})
	code, _, errOut := faultsCLI("list", "--endpoint", "http://"+addr)
	if code != 1 || !strings.Contains(errOut, "admin API is off") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestFaultsStandardRetryerRecovers shows a client with the SDK's
// standard retryer riding out injected throttling: the first two attempts
// meet ProvisionedThroughputExceededException and the third succeeds.
func TestFaultsStandardRetryerRecovers(t *testing.T) {
	addr, _ := startFaultServer(t, func(c *serveConfig) { c.Admin = true })
	ctx := context.Background()
	createActive(t, ctx, testClient(addr), "s")
	mustCLI(t, `"count":2`, "add", "--endpoint", "http://"+addr, "--op", "PutRecord",
		"--effect", "error", "--error-type", "ProvisionedThroughputExceededException", "--count", "2")

	c := sdkClient(addr, retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		// The standard retry decisions with a short backoff, to keep the
		// test fast.
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 10 * time.Millisecond, nil })
	}))
	out, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("x")})
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	attempts, ok := retry.GetAttemptResults(out.ResultMetadata)
	if !ok || len(attempts.Results) != 3 {
		t.Fatalf("got %d attempts, want 3", len(attempts.Results))
	}
	for i, a := range attempts.Results[:2] {
		if a.Err == nil || !strings.Contains(a.Err.Error(), "ProvisionedThroughputExceededException") {
			t.Errorf("attempt %d: %v", i+1, a.Err)
		}
	}
}

func TestFaultsFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "faults.json")
	rules := `{"seed": 3, "rules": [{"operation": "ListShards", "stream": "s", "effect": "error", "error_type": "LimitExceededException"}]}`
	if err := os.WriteFile(file, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseServeArgs(nil, env(map[string]string{"TRIBUTARY_FAULTS_FILE": file, "TRIBUTARY_ADMIN": "false"}))
	if err != nil || cfg.FaultsFile != file || cfg.Admin {
		t.Fatalf("parseServeArgs: %+v, %v", cfg, err)
	}
	if cfg, err := parseServeArgs([]string{"--admin"}, env(nil)); err != nil || !cfg.Admin {
		t.Fatalf("--admin: %v, %v", cfg.Admin, err)
	}

	addr, logs := startFaultServer(t, func(c *serveConfig) { c.FaultsFile = file })
	if !strings.Contains(logs.String(), "loaded 1 fault rules") {
		t.Error("no log of the rules loaded")
	}
	ctx := context.Background()
	c := testClient(addr)
	createActive(t, ctx, c, "s")
	_, err = c.ListShards(ctx, &sdk.ListShardsInput{StreamName: aws.String("s")})
	wantAPIError(t, err, "LimitExceededException", "Rate exceeded for stream s under account "+testAccount+".")
	// Without --admin the rules apply but cannot be managed.
	if code, _, _ := faultsCLI("list", "--endpoint", "http://"+addr); code != 1 {
		t.Errorf("list without --admin: exit %d, want 1", code)
	}

	for _, bad := range []string{filepath.Join(dir, "missing.json"), writeFile(t, dir, `{"rules": [{"operation": "Nope", "effect": "latency"}]}`)} {
		cfg := defaultServeConfig()
		cfg.FaultsFile = bad
		if _, err := newInjector(cfg, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func writeFile(t *testing.T, dir, content string) string {
	t.Helper()
	name := filepath.Join(dir, fmt.Sprintf("f%d.json", time.Now().UnixNano()))
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestFaultsHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"add", "--help"}, {"list", "-h"}, {"clear", "--help"}} {
		code, out, _ := faultsCLI(args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	if code, _, _ := faultsCLI(); code != 2 {
		t.Errorf("no subcommand: exit %d, want 2", code)
	}
	var out bytes.Buffer
	if code := runMain(context.Background(), []string{"help", "faults"}, nil, &out, &out, env(nil)); code != 0 || !strings.Contains(out.String(), "tributary faults add") {
		t.Errorf("help faults: %d %s", code, out.String())
	}
}

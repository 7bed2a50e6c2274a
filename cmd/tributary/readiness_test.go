package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// TestReadinessThroughLife: what the health routes, tributary health and
// Kinesis clients get from the real server (run, in this process) while
// its storage recovers, while it serves, and while it shuts down with a
// request in flight. The hooks hold the server in each state for as long
// as the test looks at it, so nothing here depends on timing.
func TestReadinessThroughLife(t *testing.T) {
	dir := t.TempDir()
	cfg := defaultServeConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.Account = testAccount
	cfg.CreateDelay, cfg.DeleteDelay, cfg.UpdateDelay = 0, 0, 0
	cfg.Admin = true // to hold a request in flight with a latency fault
	cfg.AdminToken = testAdminToken
	cfg.LogLevel = slog.LevelDebug

	inRecovery, endRecovery := make(chan struct{}), make(chan struct{})
	inDrain, endDrain := make(chan struct{}), make(chan struct{})
	hooks := runHooks{
		recovering: func(context.Context) { close(inRecovery); <-endRecovery },
		draining:   func() { close(inDrain); <-endDrain },
	}
	logs := new(syncBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runWith(ctx, cfg, newLogger(logs, cfg.LogLevel, "json"), hooks) }()

	// Recovering: the port answers, but only health checks succeed.
	select {
	case <-inRecovery:
	case err := <-done:
		t.Fatalf("run returned before recovering: %v", err)
	}
	addr := ""
	for _, rec := range logs.records(t) {
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, "recovering storage; ") {
			addr, _ = rec["addr"].(string)
		}
	}
	if addr == "" {
		t.Fatalf("no log record of the address while recovering:\n%s", logs.String())
	}
	endpoint := "http://" + addr
	wantHealth(t, "recovering, live", []string{"--endpoint", endpoint, "--live"}, 0, endpoint+"/health/live: ok\n")
	wantHealth(t, "recovering, ready", []string{"--endpoint", endpoint}, 1, "503 not ready: recovering storage")

	status, body := rawCall(t, addr, "ListStreams", `{}`)
	var awsErr struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	decodeBody(t, body, &awsErr)
	if status != http.StatusServiceUnavailable || awsErr.Type != "ServiceUnavailable" || awsErr.Message != recoveringMessage {
		t.Errorf("Kinesis request while recovering: %d %s, want 503 ServiceUnavailable %q", status, body, recoveringMessage)
	}
	c := testClient(addr)
	_, err := c.ListStreams(context.Background(), &sdk.ListStreamsInput{})
	var apiErr smithy.APIError
	var respErr *awshttp.ResponseError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ServiceUnavailable" || !errors.As(err, &respErr) || respErr.HTTPStatusCode() != 503 {
		t.Errorf("SDK call while recovering: %v, want ServiceUnavailable with 503", err)
	}
	// The SDKs' standard retryer retries it: clients wait out a recovery.
	if r := retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err); r != aws.TrueTernary {
		t.Errorf("the SDK's standard retryer would not retry %v", err)
	}

	// Recovered: ready, and serving.
	close(endRecovery)
	if got := waitListening(t, logs, done); got != addr {
		t.Fatalf("listening on %s after recovery, %s before", got, addr)
	}
	wantHealth(t, "serving, ready", []string{"--endpoint", endpoint}, 0, endpoint+"/health/ready: ok\n")
	bg := context.Background()
	if _, err := c.CreateStream(bg, &sdk.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	put := func(data string) error {
		_, err := c.PutRecord(bg, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte(data)})
		return err
	}
	if err := put("before"); err != nil {
		t.Fatal(err)
	}

	// Shutting down with a PutRecord in flight: it is held in the server
	// by a latency fault, which a count of 1 removes as the call meets it.
	mustCLI(t, `"id"`, "add", "--endpoint", endpoint, "--op", "PutRecord", "--effect", "latency", "--latency", "500ms", "--count", "1")
	inFlight := make(chan error, 1)
	go func() { inFlight <- put("in flight") }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if list := mustCLI(t, "", "list", "--endpoint", endpoint); strings.Contains(list, `"rules":[]`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the PutRecord never met its latency fault")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-inDrain:
	case err := <-done:
		t.Fatalf("run returned without draining: %v", err)
	}
	wantHealth(t, "draining, ready", []string{"--endpoint", endpoint}, 1, "503 not ready: shutting down")
	wantHealth(t, "draining, live", []string{"--endpoint", endpoint, "--live"}, 0, endpoint+"/health/live: ok\n")
	// Requests are still served until the listener closes.
	if err := put("while draining"); err != nil {
		t.Errorf("PutRecord while draining: %v", err)
	}
	close(endDrain)
	if err := <-inFlight; err != nil {
		t.Errorf("the PutRecord in flight at shutdown failed: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	wantHealth(t, "stopped", []string{"--endpoint", endpoint, "--timeout", "2s"}, 1, "no answer")

	// Every acknowledged record is there after a restart.
	addr2, _, _ := runTestServer(t, nil, func(c *serveConfig) { c.DataDir = dir })
	c2 := testClient(addr2)
	recs, _ := readAll(t, bg, c2, shardIterator(t, bg, c2, &sdk.GetShardIteratorInput{
		StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Data))
	}
	// The two last were concurrent: either order is right.
	if len(got) != 3 || got[0] != "before" || !(got[1] == "in flight" && got[2] == "while draining" || got[2] == "in flight" && got[1] == "while draining") {
		t.Errorf("records after restart: %q", got)
	}
}

// wantHealth runs tributary health with args and checks its exit code and
// output: for 0 the whole standard output, otherwise a part of standard
// error.
func wantHealth(t *testing.T, state string, args []string, code int, want string) {
	t.Helper()
	gotCode, out, errOut := healthCLI(args...)
	switch {
	case gotCode != code:
		t.Errorf("%s: tributary health %s exit %d (stdout %q, stderr %q), want %d", state, strings.Join(args, " "), gotCode, out, errOut, code)
	case code == 0 && out != want:
		t.Errorf("%s: stdout %q, want %q", state, out, want)
	case code != 0 && !strings.Contains(errOut, want):
		t.Errorf("%s: stderr %q, want it to contain %q", state, errOut, want)
	}
}

// TestGateReady: the readiness of the gate in each of its states, and the
// background stats it has before the storage opens.
func TestGateReady(t *testing.T) {
	g := new(gate)
	if err := g.ready(context.Background()); err == nil || err.Error() != "recovering storage" {
		t.Errorf("before open: %v", err)
	}
	if st := g.backgroundStats(); len(st) != 0 {
		t.Errorf("stats before open: %v", st)
	}
	g.open(nil, nil)
	if err := g.ready(context.Background()); err != nil {
		t.Errorf("open: %v", err)
	}
	g.drain()
	if err := g.ready(context.Background()); err == nil || err.Error() != "shutting down" {
		t.Errorf("draining: %v", err)
	}
}

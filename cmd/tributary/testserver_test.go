package main

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/sdkhttp"
)

const testAccount = "000000000000"

// runTestServer runs the real server (run) in this process on a free
// loopback port, with the test account, no stream delays, its data in a
// temporary directory and debug logs in JSON, then cfg changed by edit
// (nil for none). It logs into logs (a new buffer when nil) and returns the
// address, the log and a function that stops the server gracefully and
// waits for run to return. The server also stops when the test ends.
func runTestServer(t testing.TB, logs *syncBuffer, edit func(*serveConfig)) (string, *syncBuffer, func()) {
	t.Helper()
	cfg := defaultServeConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Account = testAccount
	cfg.CreateDelay, cfg.DeleteDelay, cfg.UpdateDelay = 0, 0, 0
	cfg.LogLevel = slog.LevelDebug
	if edit != nil {
		edit(&cfg)
	}
	if logs == nil {
		logs = new(syncBuffer)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, newLogger(logs, cfg.LogLevel, "json")) }()
	addr := waitListening(t, logs, done)

	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return addr, logs, stop
}

// testClient returns an SDK client for the server at addr that retries
// nothing, so that every answer a test asserts on is the server's first.
func testClient(addr string) *sdk.Client {
	return sdkClient(addr, aws.NopRetryer{})
}

// sdkClient returns an SDK client for the server at addr with retryer,
// over sdkhttp's client: the SDK's default one can fail a call the server
// answered (see package sdkhttp).
func sdkClient(addr string, retryer aws.Retryer) *sdk.Client {
	return sdk.New(sdk.Options{
		BaseEndpoint: aws.String("http://" + addr),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   sdkhttp.New(),
		Retryer:      retryer,
	})
}

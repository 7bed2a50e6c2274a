// Package inproc starts a Tributary inside a test's process, behind a
// real HTTP server, and returns an AWS SDK client of it: for the tests of
// packages that are clients of the Kinesis API (the producer, the bench)
// and want the real server without a child process.
package inproc

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/api"
	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/sdkhttp"
	"github.com/tributary-io/tributary/server"
	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/mem"
	"github.com/tributary-io/tributary/stream"
)

// Options configures Start. The zero value is an in-memory server with
// no faults.
type Options struct {
	// Engine stores the streams; nil means an in-memory engine. Start
	// does not close it.
	Engine storage.Engine
	// Faults, when not nil, is applied to the calls served.
	Faults *faults.Injector
}

// Start starts the server, stopped when tb ends, and returns a client of
// it that retries nothing, so that a test sees every answer. Streams
// change state at once (no CREATING or DELETING delay).
func Start(tb testing.TB, opts Options) *kinesis.Client {
	tb.Helper()
	engine := opts.Engine
	if engine == nil {
		engine = mem.New(mem.Options{})
	}
	svc, err := stream.New(context.Background(), engine, stream.Options{CreateDelay: stream.NoDelay, DeleteDelay: stream.NoDelay, UpdateDelay: stream.NoDelay})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Config{Handler: api.New(svc, api.Options{Faults: opts.Faults})}))
	tb.Cleanup(func() {
		srv.Close()
		svc.Close()
	})
	return kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		HTTPClient:  sdkhttp.Wrap(srv.Client()),
	})
}

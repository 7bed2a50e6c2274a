// Package inproc starts a Tributary inside a test's process, behind a
// real HTTP server, and returns an AWS SDK client of it: for the tests of
// packages that are clients of the Kinesis API (the producer, the bench,
// the consumer) and want the real server without a child process.
package inproc

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
// no faults, spoken to over HTTP/1.1.
type Options struct {
	// Engine stores the streams; nil means an in-memory engine. Start
	// does not close it.
	Engine storage.Engine
	// Faults, when not nil, is applied to the calls served.
	Faults *faults.Injector
	// Stream configures the service. Its CreateDelay, DeleteDelay and
	// UpdateDelay left zero mean stream.NoDelay here (not the service's
	// default of 500 ms): streams and consumers change state at once.
	Stream stream.Options
	// HTTP2 serves with Tributary's own server (package server, which
	// speaks HTTP/1.1 and unencrypted HTTP/2 on one port) instead of
	// httptest's, and returns a client speaking HTTP/2 with prior
	// knowledge (h2c), as the SDK speaks HTTP/2 to AWS over TLS: for
	// SubscribeToShard, whose event streams AWS serves over HTTP/2 only.
	HTTP2 bool
}

// Start starts the server, stopped when tb ends, and returns a client of
// it that retries nothing, so that a test sees every answer. Streams
// change state at once (no CREATING or DELETING delay) unless
// opts.Stream says otherwise.
func Start(tb testing.TB, opts Options) *kinesis.Client {
	tb.Helper()
	engine := opts.Engine
	if engine == nil {
		engine = mem.New(mem.Options{})
	}
	so := opts.Stream
	for _, d := range []*time.Duration{&so.CreateDelay, &so.DeleteDelay, &so.UpdateDelay} {
		if *d == 0 {
			*d = stream.NoDelay
		}
	}
	svc, err := stream.New(context.Background(), engine, so)
	if err != nil {
		tb.Fatal(err)
	}
	handler := server.New(server.Config{Handler: api.New(svc, api.Options{Faults: opts.Faults}), ShutdownTimeout: 5 * time.Second})
	var url string
	var hc *http.Client
	if opts.HTTP2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			svc.Close()
			tb.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- handler.Serve(ctx, ln) }()
		protocols := new(http.Protocols)
		protocols.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: protocols}
		url, hc = "http://"+ln.Addr().String(), &http.Client{Transport: tr}
		tb.Cleanup(func() {
			tr.CloseIdleConnections()
			cancel() // a graceful shutdown, which ends the event streams
			if err := <-served; err != nil {
				tb.Errorf("inproc: serving: %v", err)
			}
			svc.Close()
		})
	} else {
		srv := httptest.NewServer(handler)
		tb.Cleanup(func() {
			srv.Close()
			svc.Close()
		})
		url, hc = srv.URL, srv.Client()
	}
	return kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(url), Region: "us-east-1", Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		HTTPClient:  sdkhttp.Wrap(hc),
	})
}

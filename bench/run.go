package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/middleware"

	"github.com/tributary-io/tributary/sdkhttp"
)

// Run runs the workloads opts selects against opts.Endpoint, one after the
// other, printing progress to stderr and a summary to stdout (to stderr
// when the JSON result goes to stdout). It runs every selected workload
// even if one fails, so that one broken feature does not hide the figures
// of the others, and returns the failures joined.
func Run(ctx context.Context, opts Options, stdout, stderr io.Writer) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	conns := newConnTracker()
	b := &bench{
		opts:     opts,
		client:   newClient(opts, conns),
		conns:    conns,
		stderr:   stderr,
		progress: newProgress(stderr),
	}
	result := Result{
		Endpoint:  opts.Endpoint,
		Started:   time.Now().UTC(),
		GoVersion: runtime.Version(),
		Workloads: []WorkloadResult{},
	}

	var errs []error
	if opts.CPUProfile != "" {
		f, err := os.Create(opts.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintf(stderr, "bench: warning: writing the CPU profile: %v\n", err)
			}
		}()
	}
	for _, name := range opts.selected() {
		var (
			rs  []WorkloadResult
			err error
		)
		switch name {
		case WorkloadIngest:
			rs, err = b.ingest(ctx)
		case WorkloadDrain:
			rs, err = b.drain(ctx)
		case WorkloadLatency:
			rs, err = b.latency(ctx)
		case WorkloadShards:
			rs, err = b.shards(ctx)
		case WorkloadSoak:
			rs, err = b.soak(ctx)
		case WorkloadProducer:
			rs, err = b.producerLoad(ctx)
		case WorkloadConsume:
			rs, err = b.consume(ctx)
		case WorkloadScale:
			rs, err = b.scale(ctx)
		}
		if err != nil {
			// A workload that fails stops there, so the error belongs to
			// its last result, unless the workload said which of its
			// results failed.
			if len(rs) > 0 && !slices.ContainsFunc(rs, func(w WorkloadResult) bool { return w.Error != "" }) {
				rs[len(rs)-1].Error = err.Error()
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		result.Workloads = append(result.Workloads, rs...)
		if ctx.Err() != nil {
			break
		}
	}

	summary := stdout
	if opts.JSONPath == "-" {
		summary = stderr
	}
	writeSummary(summary, result)
	if opts.JSONPath != "" {
		if err := writeJSON(opts.JSONPath, stdout, result); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// bench is one run's shared state.
type bench struct {
	opts     Options
	client   *kinesis.Client
	conns    *connTracker // the client's connections
	stderr   io.Writer
	progress *progress

	rssWarned bool // whether a failure to read the RSS was reported
}

// newClient returns a Kinesis client for the endpoint, whose connections
// tracker keeps.
func newClient(opts Options, tracker *connTracker) *kinesis.Client {
	// Every producer and the poller hold a connection at once; with the
	// default of 10 idle connections per host, more producers than that
	// would close and reopen connections on every call and measure TCP
	// set-up rather than the server. The soak's readers and writers are
	// more (soakConns).
	conns := max(opts.Producers, shardsProducers, soakConns) + 2
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, conns)
		t.MaxIdleConns = max(t.MaxIdleConns, conns)
		t.DialContext = tracker.wrap(t.DialContext)
		if opts.HTTP2 && strings.HasPrefix(opts.Endpoint, "http://") {
			// Only HTTP/2: a transport that also allowed HTTP/1.1 would
			// use it for http:// URLs.
			p := new(http.Protocols)
			p.SetUnencryptedHTTP2(true)
			t.Protocols = p
		}
	})
	// Wrapped, because the SDK's own HTTP client can close a connection
	// under a response the server sent (see package sdkhttp): the call
	// fails or is retried, and a retried PutRecords stores its records
	// twice.
	return kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(opts.Endpoint),
		Region:       opts.Region,
		// Emulators accept any credentials; AWS itself would need real
		// ones, which a benchmark of AWS is not meant for.
		Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		HTTPClient:  sdkhttp.Wrap(httpClient),
		// The standard retryer, as an application would have, for the
		// throttling and server errors of the endpoints compared. Retries
		// are counted per workload (retried_calls) so that they do not
		// pass unseen.
		Retryer: retry.NewStandard(),
	})
}

// retried reports whether a call took more than one attempt, from the
// result metadata md of a call that succeeded or the error of one that
// failed.
func retried(md middleware.Metadata, err error) bool {
	var maxErr *retry.MaxAttemptsError
	if errors.As(err, &maxErr) {
		return true
	}
	if r, ok := retry.GetAttemptResults(md); ok {
		return len(r.Results) > 1
	}
	return false
}

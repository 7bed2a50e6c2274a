package bench

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// errKind is what a failed call means for the soak: whether the request
// was done, not done, or may have been done, and whether it is a sign of
// a server bug.
type errKind int

const (
	errOther     errKind = iota // an API error the soak does not expect
	errThrottled                // throttled: not done, try again later
	errNotFound                 // ResourceNotFoundException
	errInUse                    // ResourceInUseException
	errExpired                  // ExpiredIteratorException
	errInvalid                  // InvalidArgumentException
	errRefused                  // no connection, or refused unserved (ServiceUnavailable): not done
	errTransport                // no answer: the request may have been done
	errServer                   // a 5xx answer: the request may have been done
	errTimeout                  // no answer within soakCallTimeout
	errCanceled                 // the soak itself cancelled the call
)

// classify tells what err, from a call made with ctx, means.
func classify(ctx context.Context, err error) errKind {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errTimeout
		}
		return errCanceled
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException":
			return errThrottled
		case "ResourceNotFoundException":
			return errNotFound
		case "ResourceInUseException":
			return errInUse
		case "ExpiredIteratorException":
			return errExpired
		case "InvalidArgumentException":
			return errInvalid
		case "ServiceUnavailable":
			// Tributary answers it only for a request it did not serve:
			// while the storage recovers after a start, or when the
			// bodies in flight use up --body-budget. A restart is
			// expected, so it is a refusal like a connection refused.
			return errRefused
		}
		var respErr *awshttp.ResponseError
		if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= http.StatusInternalServerError {
			return errServer
		}
		return errOther
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= http.StatusInternalServerError {
		return errServer
	}
	// A refused or failed dial means nothing was sent; anything else
	// without an answer (a reset, EOF, a closed connection) may have been
	// served.
	var opErr *net.OpError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &opErr) && opErr.Op == "dial" {
		return errRefused
	}
	return errTransport
}

// maxErrorExamples bounds the unexpected errors the report lists.
const maxErrorExamples = 20

// errorLog collects the errors the soak did not expect: each is counted,
// and the first few are kept word for word, with when they happened.
type errorLog struct {
	start    time.Time
	mu       sync.Mutex
	count    int64
	examples []string
}

func (l *errorLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count++
	if len(l.examples) < maxErrorExamples {
		l.examples = append(l.examples, fmt.Sprintf("%.1fs: ", time.Since(l.start).Seconds())+fmt.Sprintf(format, args...))
	}
}

func (l *errorLog) snapshot() (int64, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count, append([]string(nil), l.examples...)
}

// backoff is an exponential delay with jitter between min and max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	// Up to a quarter less, so that actors throttled together do not
	// retry together.
	return b.cur - time.Duration(mrand.Int64N(int64(b.cur/4)+1))
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits for d, or until ctx is done; it reports whether the whole
// time passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

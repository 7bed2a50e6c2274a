package main

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// closedConnRetryer retries a call only when the client's own connection
// was closed under it, and nothing else.
//
// The AWS SDK's HTTP transport can close a kept-alive connection from its
// write loop while the response on it is still being read; the call then
// fails with "use of closed network connection" after a 200. This is a
// client-side race (aws-sdk-go-v2 issues 1825 and 2737), seen here under
// CPU load, and the SDK's standard retryer retries net.ErrClosed for that
// reason. The tests keep every other retry off so that each API error
// they assert on is the server's first answer.
type closedConnRetryer struct{}

var _ aws.Retryer = closedConnRetryer{}

func (closedConnRetryer) IsErrorRetryable(err error) bool { return errors.Is(err, net.ErrClosed) }
func (closedConnRetryer) MaxAttempts() int                { return 3 }
func (closedConnRetryer) RetryDelay(int, error) (time.Duration, error) {
	return 0, nil
}
func (closedConnRetryer) GetRetryToken(context.Context, error) (func(error) error, error) {
	return func(error) error { return nil }, nil
}
func (closedConnRetryer) GetInitialToken() func(error) error { return func(error) error { return nil } }

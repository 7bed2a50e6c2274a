package jetstream

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestRetryTimeouts: a call that times out on its own is made again, as
// long as ctx lasts; any other answer is the last.
func TestRetryTimeouts(t *testing.T) {
	other := errors.New("stream not found")
	timedOut := fmt.Errorf("nats: %w", context.DeadlineExceeded)
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		answers []error // f's answers in turn; the last repeats
		calls   int
		want    error
	}{
		{"at once", t.Context(), []error{nil}, 1, nil},
		{"after two timeouts", t.Context(), []error{timedOut, timedOut, nil}, 3, nil},
		{"another error", t.Context(), []error{timedOut, other}, 2, other},
		{"ctx ended", ended, []error{timedOut}, 1, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := retryTimeouts(tc.ctx, func() error {
				calls++
				return tc.answers[min(calls, len(tc.answers))-1]
			})
			if calls != tc.calls {
				t.Errorf("%d calls, want %d", calls, tc.calls)
			}
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

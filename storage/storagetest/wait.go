package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// stillBlocked is how long a Wait must go on blocking to count as blocked.
// An engine that returns early does so at once, so this need not be long.
const stillBlocked = 50 * time.Millisecond

func waitAsync(ctx context.Context, l storage.ShardLog, p uint64) <-chan error {
	done := make(chan error, 1)
	go func() { done <- l.Wait(ctx, p) }()
	return done
}

func checkBlocked(t testing.TB, what string, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s: Wait returned %v while it should still block", what, err)
	case <-time.After(stillBlocked):
	}
}

func waitResult(t testing.TB, what string, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(noWait):
		t.Fatalf("%s: Wait still blocks after %v", what, noWait)
		return nil
	}
}

func testWait(t *testing.T, h Harness) {
	t.Run("Present", func(t *testing.T) {
		f := newFixture(t, h)
		ctx, cancel := context.WithTimeout(t.Context(), noWait)
		defer cancel()
		l := f.createLog("wait", storage.LogOptions{})
		a := mustAppend(t, l, batchOf("a", 2))
		for _, p := range []uint64{0, 1, a[0].Position, a[1].Position} {
			if err := l.Wait(ctx, p); err != nil {
				t.Errorf("Wait(%d) with records up to %d: %v", p, a[1].Position, err)
			}
		}
	})

	t.Run("UntilAppend", func(t *testing.T) {
		f := newFixture(t, h)
		ctx := t.Context()
		l := f.createLog("wait", storage.LogOptions{})
		waiters := make([]<-chan error, 5)
		for i := range waiters {
			waiters[i] = waitAsync(ctx, l, 0)
		}
		checkBlocked(t, "empty log", waiters[0])
		a := mustAppend(t, l, batchOf("a", 1))
		for _, done := range waiters {
			if err := waitResult(t, "first append", done); err != nil {
				t.Errorf("Wait for the first record: %v", err)
			}
		}

		done := waitAsync(ctx, l, a[0].Position+1)
		checkBlocked(t, "waiting past the end", done)
		mustAppend(t, l, batchOf("b", 2))
		if err := waitResult(t, "next append", done); err != nil {
			t.Errorf("Wait for the next record: %v", err)
		}
	})

	t.Run("FarAhead", func(t *testing.T) {
		// A waiter wakes for a record at or after p, not for any append.
		f := newFixture(t, h)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		l := f.createLog("wait", storage.LogOptions{})
		a := mustAppend(t, l, batchOf("a", 1))
		far := a[0].Position + 1_000_000
		done := waitAsync(ctx, l, far)
		b := mustAppend(t, l, batchOf("b", 1))
		if b[0].Position >= far {
			t.Skipf("the engine jumped from position %d to %d", a[0].Position, b[0].Position)
		}
		checkBlocked(t, "an append short of the position waited for", done)
		cancel()
		wantErr(t, "Wait cancelled", waitResult(t, "cancel", done), context.Canceled)
	})

	t.Run("Context", func(t *testing.T) {
		f := newFixture(t, h)
		l := f.createLog("wait", storage.LogOptions{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		wantErr(t, "Wait with a cancelled context", l.Wait(ctx, 1), context.Canceled)

		ctx, cancel = context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		wantErr(t, "Wait past its deadline", l.Wait(ctx, 1), context.DeadlineExceeded)

		ctx, cancel = context.WithCancel(t.Context())
		done := waitAsync(ctx, l, 1)
		checkBlocked(t, "before cancel", done)
		cancel()
		wantErr(t, "Wait cancelled while blocked", waitResult(t, "cancel", done), context.Canceled)
	})

	t.Run("Deleted", func(t *testing.T) {
		f := newFixture(t, h)
		l := f.createLog("wait", storage.LogOptions{})
		mustAppend(t, l, batchOf("a", 1))
		done := waitAsync(t.Context(), l, mustInfo(t, l).LastPosition+1)
		checkBlocked(t, "before delete", done)
		if err := f.e.DeleteLog(t.Context(), "wait"); err != nil {
			t.Fatalf("DeleteLog: %v", err)
		}
		wantErr(t, "Wait on a log deleted meanwhile", waitResult(t, "delete", done), storage.ErrNotFound)
	})

	t.Run("Sealed", func(t *testing.T) {
		f := newFixture(t, h)
		l := f.createLog("wait", storage.LogOptions{})
		a := mustAppend(t, l, batchOf("a", 1))
		done := waitAsync(t.Context(), l, a[0].Position+1)
		checkBlocked(t, "before seal", done)
		mustSeal(t, l)
		wantErr(t, "Wait on a log sealed meanwhile", waitResult(t, "seal", done), storage.ErrSealed)
	})

	t.Run("EngineClosed", func(t *testing.T) {
		// The contract has every method of a closed engine's log fail with
		// ErrClosed; a waiter left blocked forever would be a leak.
		f := newFixture(t, h)
		ls := []storage.ShardLog{f.createLog("wait-1", storage.LogOptions{}), f.createLog("wait-2", storage.LogOptions{})}
		var waiters []<-chan error
		for _, l := range ls {
			waiters = append(waiters, waitAsync(t.Context(), l, 1))
		}
		checkBlocked(t, "before close", waiters[0])
		if err := f.e.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, done := range waiters {
			wantErr(t, "Wait on a log whose engine closed meanwhile", waitResult(t, "close", done), storage.ErrClosed)
		}
	})

	t.Run("FollowingWaiters", func(t *testing.T) {
		// Waiters that re-arm after each wake-up see every append.
		f := newFixture(t, h)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		l := f.createLog("wait", storage.LogOptions{})
		const appends, waiters = 100, 4
		var wg sync.WaitGroup
		seen := make([]int, waiters)
		for i := range waiters {
			wg.Go(func() {
				for next := uint64(0); ; {
					if err := l.Wait(ctx, next); err != nil {
						if !errors.Is(err, storage.ErrSealed) {
							t.Errorf("waiter %d: %v", i, err)
						}
						return
					}
					res, err := l.Read(ctx, storage.At(next), storage.ReadLimits{MaxRecords: 1000})
					if err != nil {
						t.Errorf("waiter %d: %v", i, err)
						return
					}
					if len(res.Records) == 0 {
						t.Errorf("waiter %d: Wait(%d) returned but At(%d) reads nothing", i, next, next)
						return
					}
					seen[i] += len(res.Records)
					next = res.Next
				}
			})
		}
		for range appends {
			if _, err := l.Append(ctx, batchOf("x", 1)); err != nil {
				t.Errorf("Append: %v", err)
				break
			}
		}
		if _, err := l.Seal(ctx); err != nil {
			t.Errorf("Seal: %v", err)
			cancel() // the waiters would otherwise block until the deadline
		}
		wg.Wait()
		for i, n := range seen {
			if n != appends {
				t.Errorf("waiter %d saw %d records, want %d", i, n, appends)
			}
		}
	})
}

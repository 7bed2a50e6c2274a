package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestBudgetAcquireRelease(t *testing.T) {
	b := newBudget(100)
	ctx := context.Background()
	if err := b.acquire(ctx, 60, time.Second); err != nil {
		t.Fatal(err)
	}
	if b.tryAcquire(41) {
		t.Fatal("tryAcquire(41) succeeded with 40 left")
	}
	if !b.tryAcquire(40) {
		t.Fatal("tryAcquire(40) failed with 40 left")
	}

	// Two waiters are granted in the order they asked, each as soon as it
	// fits.
	granted := make(chan int64, 2)
	waitFor := func(n int64) {
		go func() {
			if err := b.acquire(ctx, n, time.Minute); err != nil {
				t.Error(err)
			}
			granted <- n
		}()
	}
	waitFor(50)
	waitUntil(t, func() bool { return waiters(b) == 1 })
	waitFor(10)
	waitUntil(t, func() bool { return waiters(b) == 2 })
	// 10 would fit once 10 are free, but waits behind 50: no overtaking.
	b.release(10)
	select {
	case n := <-granted:
		t.Fatalf("%d granted with 10 free and the 50 ahead", n)
	case <-time.After(20 * time.Millisecond):
	}
	b.release(40) // 50 free: the 50 goes, the 10 still waits
	if n := <-granted; n != 50 {
		t.Fatalf("granted %d first, want 50", n)
	}
	b.release(60)
	if n := <-granted; n != 10 {
		t.Fatalf("granted %d second, want 10", n)
	}
	if got := b.inUse(); got != 100-10-40+50-60+10 {
		t.Fatalf("in use %d, want 50", got)
	}

	// A waiter that gives up takes nothing and lets the next one through.
	b2 := newBudget(100)
	b2.acquire(ctx, 100, 0)
	if err := b2.acquire(ctx, 80, 10*time.Millisecond); !errors.Is(err, errNoBudget) {
		t.Fatalf("acquire past its wait = %v, want errNoBudget", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := b2.acquire(canceled, 80, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire with its context canceled = %v, want context.Canceled", err)
	}
	b2.release(100)
	if got := b2.inUse(); got != 0 {
		t.Fatalf("in use %d after the waiters gave up, want 0", got)
	}

	// More than the capacity can never fit and fails at once.
	if err := b2.acquire(ctx, 101, time.Minute); !errors.Is(err, errNoBudget) {
		t.Fatalf("acquire(101) of 100 = %v, want errNoBudget", err)
	}
}

func waiters(b *budget) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiters)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReadBody(t *testing.T) {
	const limit = 100 << 10
	tests := []struct {
		name     string
		size     int
		declared bool  // Content-Length sent
		capacity int64 // of the budget; 0 for 2*limit
		held     int64 // bytes of the budget others hold
		wantErr  error // nil for success
		wantHeld int64 // what the body holds while in use
	}{
		{"empty, declared", 0, true, 0, 0, nil, 0},
		{"small, declared", 10, true, 0, 0, nil, 10},
		{"at the limit, declared", limit, true, 0, 0, nil, limit},
		{"over the limit, declared", limit + 1, true, 0, 0, errBodyTooLarge, 0},
		{"empty, unknown length", 0, false, 0, 0, nil, firstChunk},
		{"small, unknown length", 10, false, 0, 0, nil, firstChunk},
		{"several steps, unknown length", 3*firstChunk + 1, false, 0, 0, nil, 4 * firstChunk},
		{"at the limit, unknown length", limit, false, 0, 0, nil, limit},
		{"over the limit, unknown length", limit + 1, false, 0, 0, errBodyTooLarge, 0},
		{"declared, no room", 10, true, limit, limit - 9, errNoBudget, 0},
		{"unknown length, no room for the first step", 10, false, limit, limit - firstChunk + 1, errNoBudget, 0},
		{"unknown length, no room to grow", 2 * firstChunk, false, limit, limit - firstChunk - 1, errNoBudget, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			capacity := tt.capacity
			if capacity == 0 {
				capacity = 2 * limit
			}
			b := newBudget(capacity)
			if !b.tryAcquire(tt.held) {
				t.Fatal("cannot hold the budget")
			}
			data := bytes.Repeat([]byte("x"), tt.size)
			declared := int64(-1)
			if tt.declared {
				declared = int64(tt.size)
			}
			// One byte per read, to exercise every step of the growth.
			src := &countingReader{r: iotest.OneByteReader(bytes.NewReader(data))}
			h, err := readBody(context.Background(), b, src, declared, limit, 10*time.Millisecond)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("readBody error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if got := b.inUse(); got != tt.held {
					t.Errorf("budget in use %d after the failure, want %d: the body kept its share", got, tt.held)
				}
				if tt.declared && src.n != 0 {
					t.Errorf("read %d bytes of a body refused on its declared length", src.n)
				}
				return
			}
			if !bytes.Equal(h.data, data) {
				t.Fatalf("body of %d bytes read as %d bytes", len(data), len(h.data))
			}
			if got := b.inUse() - tt.held; got != tt.wantHeld {
				t.Errorf("body holds %d bytes of the budget, want %d", got, tt.wantHeld)
			}
			h.Release()
			h.Release() // idempotent
			if got := b.inUse(); got != tt.held {
				t.Errorf("budget in use %d after Release, want %d", got, tt.held)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadBodyErrors(t *testing.T) {
	b := newBudget(1 << 20)
	boom := errors.New("boom")
	tests := []struct {
		name     string
		r        io.Reader
		declared int64
	}{
		{"declared body cut short", strings.NewReader("abc"), 10},
		{"declared body failing", iotest.ErrReader(boom), 10},
		{"unknown length failing", io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readBody(context.Background(), b, tt.r, tt.declared, 1<<20, time.Second)
			if err == nil || errors.Is(err, errBodyTooLarge) || errors.Is(err, errNoBudget) {
				t.Fatalf("readBody error = %v, want the reader's", err)
			}
			if got := b.inUse(); got != 0 {
				t.Fatalf("budget in use %d after a failed read, want 0", got)
			}
		})
	}

	// A client that leaves while waiting for room gets its context's
	// error, not errNoBudget: nobody is left to answer.
	full := newBudget(10)
	full.acquire(context.Background(), 10, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := readBody(ctx, full, strings.NewReader("abc"), 3, 10, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("readBody for a client gone = %v, want context.Canceled", err)
	}
}

func TestBodyBudgetAnswers(t *testing.T) {
	const size = 600
	unavailable := jsonError("ServiceUnavailable", serviceUnavailableMessage)
	tests := []struct {
		name       string
		client     func() *http.Client
		wait       time.Duration // Config.BodyBudgetWait
		freeAfter  time.Duration // the budget, full, frees after this; 0 never
		wantStatus int
		wantBody   string
	}{
		{"HTTP/1.1, room within the wait", http1Client, 10 * time.Second, 20 * time.Millisecond, 200, okBody},
		{"HTTP/1.1, no room within the wait", http1Client, 100 * time.Millisecond, 0, 503, unavailable},
		// HTTP/2 does not wait: a stream waiting would hold part of the
		// connection's flow-control window.
		{"HTTP/2, refused at once", priorKnowledgeClient, 10 * time.Second, 20 * time.Millisecond, 503, unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{}
			ts := startServer(t, Config{Handler: h, MaxBodyBytes: 1000, BodyBudget: 1000, BodyBudgetWait: tt.wait})
			client := tt.client()
			defer client.CloseIdleConnections()
			if err := ts.budget.acquire(context.Background(), 1000, 0); err != nil {
				t.Fatal(err)
			}
			release := func() { ts.budget.release(1000) }
			if tt.freeAfter > 0 {
				timer := time.AfterFunc(tt.freeAfter, release)
				defer func() {
					if timer.Stop() {
						release()
					}
				}()
			} else {
				defer release()
			}

			got := do(t, client, "POST", ts.url, signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}), strings.Repeat("x", size))
			if got.status != tt.wantStatus || string(got.body) != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", got.status, got.body, tt.wantStatus, tt.wantBody)
			}
			if handled := len(h.requests()) == 1; handled != (tt.wantStatus == 200) {
				t.Errorf("handler called: %v", handled)
			}
		})
	}

	// Every byte comes back once requests are over.
	ts := startServer(t, Config{Handler: &fakeHandler{}, MaxBodyBytes: 1000, BodyBudget: 1000})
	for _, client := range []*http.Client{http1Client(), priorKnowledgeClient()} {
		for range 3 {
			if got := do(t, client, "POST", ts.url, signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}), "{}"); got.status != 200 {
				t.Fatalf("status %d", got.status)
			}
		}
		client.CloseIdleConnections()
	}
	// The handler's deferred release may run just after the answer.
	waitUntil(t, func() bool { return ts.budget.inUse() == 0 })
}

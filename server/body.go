package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tributary-io/tributary/kinesis"
)

// Why a body could not be read; the exchange turns each into its answer.
var (
	// errBodyTooLarge: the body is longer than Config.MaxBodyBytes.
	errBodyTooLarge = errors.New("request body too large")
	// errNoBudget: the body did not fit in the body budget in time.
	errNoBudget = errors.New("no room for the request body")
)

// budget is a counting semaphore of bytes: the request body bytes the
// server holds in memory at once. It is fair: requests waiting for room are
// served in the order they asked, so a large body is not starved by a
// stream of small ones.
//
// Invariants, kept under mu: 0 <= used <= capacity; a waiter is in
// waiters until it is granted (ready closed, its bytes added to used) or
// gives up (removed, nothing added); only the head of waiters is granted.
type budget struct {
	capacity int64

	mu      sync.Mutex
	used    int64
	waiters []*budgetWaiter
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed once granted
}

func newBudget(capacity int64) *budget {
	return &budget{capacity: capacity}
}

// acquire takes n bytes, waiting in line until they fit, for at most
// wait; it fails with errNoBudget if they do not fit in time, or with
// ctx's error if ctx is done first, having taken nothing. A request must
// hold nothing when it waits (see readBody), so that no waiter can be
// waiting for bytes another waiter holds.
func (b *budget) acquire(ctx context.Context, n int64, wait time.Duration) error {
	if n > b.capacity {
		// New keeps the capacity at least MaxBodyBytes, so a body the
		// size limit admits always fits eventually.
		return fmt.Errorf("%d bytes can never fit in a budget of %d: %w", n, b.capacity, errNoBudget)
	}
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.capacity {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	var err error
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = fmt.Errorf("no room for %d bytes within %v: %w", n, wait, errNoBudget)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready:
		// Granted as the wait ended: hand the bytes on rather than fail
		// a request that got its room.
		return nil
	default:
	}
	for i, o := range b.waiters {
		if o == w {
			b.waiters = append(b.waiters[:i:i], b.waiters[i+1:]...)
			break
		}
	}
	// The head may have been the one leaving, and the next one may fit.
	b.grantLocked()
	return err
}

// tryAcquire takes n bytes if they fit now, ahead of any waiter. It is
// for requests that already hold part of the budget: making them queue
// could deadlock, and letting them finish is what frees room.
func (b *budget) tryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.capacity {
		return false
	}
	b.used += n
	return true
}

// release gives back n bytes taken by acquire or tryAcquire.
func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if b.used < 0 {
		panic("server: body budget released more than was acquired")
	}
	b.grantLocked()
}

// grantLocked grants waiters in order for as long as the head fits.
func (b *budget) grantLocked() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if b.used+w.n > b.capacity {
			return
		}
		b.used += w.n
		b.waiters[0] = nil // no reference kept by the backing array
		b.waiters = b.waiters[1:]
		close(w.ready)
	}
}

// inUse returns the bytes currently held.
func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// heldBody is a request body in memory together with its share of the
// budget. Release gives the share back, once, however often it is called.
type heldBody struct {
	data []byte
	b    *budget

	mu   sync.Mutex
	held int64 // bytes of the budget still held; 0 once released
}

// Release returns the body's bytes to the budget. The data stays valid
// (the garbage collector frees it once unreferenced); only the accounting
// ends.
func (h *heldBody) Release() {
	if h == nil {
		return
	}
	h.mu.Lock()
	n := h.held
	h.held = 0
	h.mu.Unlock()
	h.b.release(n)
}

// BodyCost is how many bytes of the budget a body byte takes: the body
// itself, and what decoding it takes while the request runs. A well-formed
// JSON request whose members are huge was measured to allocate up to six
// times its size in package kinesis (json.Decoder's buffer, which grows by
// doubling, the strings it makes, the blobs they decode to), and to keep
// about three times its size live at its peak, the body included; a CBOR
// one less. So the budget bounds the memory of requests in flight, not
// only of their bodies (TestLargeBodiesMemory measures it). A body of
// known length is read into a pooled buffer (kinesis.NewBody) up to a
// quarter larger than itself, which the margin covers.
const BodyCost = 4

// firstChunk is the buffer a body of unknown length starts with; it
// doubles from there.
const firstChunk = 16 << 10

// readBody reads a request body of declared length (-1 when unknown)
// into memory, taking BodyCost times its size from b before the bytes are
// buffered. It
// fails with errBodyTooLarge for a body over limit and errNoBudget when
// the room is not there within wait; other errors come from r.
//
// A known length is checked against limit and taken from the budget
// whole, before anything is read or allocated. A body of unknown length
// (chunked HTTP/1.1, HTTP/2 without content-length) takes room as its
// buffer grows; only the first step may wait, later ones get the room at
// once or fail, because a request that holds room must not wait for more
// (see acquire).
func readBody(ctx context.Context, b *budget, r io.Reader, declared, limit int64, wait time.Duration) (*heldBody, error) {
	if declared > limit {
		return nil, errBodyTooLarge
	}
	first := declared
	if declared < 0 {
		first = min(firstChunk, limit)
	}
	if err := b.acquire(ctx, BodyCost*first, wait); err != nil {
		return nil, err
	}
	h := &heldBody{b: b, held: BodyCost * first}

	if declared >= 0 {
		// net/http and the HTTP/2 server both end the body at the
		// declared length, so the buffer cannot overflow.
		// From kinesis's pools: the front end gives it back with the
		// request (kinesis.Request.Release).
		h.data = kinesis.NewBody(int(declared))
		if _, err := io.ReadFull(r, h.data); err != nil {
			h.Release()
			return nil, err
		}
		return h, nil
	}

	buf := make([]byte, 0, first)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) == limit {
				// Full at the limit: one more byte makes it too large.
				var probe [1]byte
				n, err := io.ReadFull(r, probe[:])
				if n > 0 {
					h.Release()
					return nil, errBodyTooLarge
				}
				if errors.Is(err, io.EOF) {
					break
				}
				h.Release()
				return nil, err
			}
			grown := min(int64(cap(buf))*2, limit)
			if !b.tryAcquire(BodyCost * (grown - int64(cap(buf)))) {
				h.Release()
				return nil, fmt.Errorf("growing a body of unknown length to %d bytes: %w", grown, errNoBudget)
			}
			h.mu.Lock()
			h.held = BodyCost * grown
			h.mu.Unlock()
			// The old buffer becomes garbage and is no longer counted:
			// the budget counts what requests hold, not what the
			// collector has yet to free.
			buf = append(make([]byte, 0, grown), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			h.Release()
			return nil, err
		}
	}
	h.data = buf
	return h, nil
}

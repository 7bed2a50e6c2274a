package jetstream

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// In a cluster a log's entry (retention, encryption key) may change
// through any node, and each node holds its own copy for its reads and
// writes. Every node watches the logs bucket so that a change reaches the
// copies within a round trip of the change (not only at the trimmer's next
// pass, a minute later): a record appended through another node after
// SetEncryption returned is sealed, and reads apply a new retention,
// unless that node is cut off from the bucket's stream meanwhile, in which
// case its writes, through the same replicas, fail too.

// watchEntries starts the watch and sets stopWatch, which Close calls to
// end it. nats.go's ordered consumer behind it recreates itself after a
// leader change or a gap; should it ever stop for good, the trimmer's
// load of each entry (every TrimInterval) is still there.
func (e *Engine) watchEntries(ctx context.Context) error {
	// The watch lasts until Close stops it, not as long as Open's ctx
	// (the watch would end with it), but its creation is bounded by
	// Open's ctx: a request without a deadline could wait for ever.
	wctx, cancel := context.WithCancel(context.Background())
	detach := context.AfterFunc(ctx, cancel)
	// nats.go gives the watch's consumer 5 s to be created, whatever ctx
	// allows (its KV watch does not take the engine's timeout): a
	// cluster starting on a loaded machine has taken longer (seen in CI,
	// under -race).
	var w jetstream.KeyWatcher
	err := retryTimeouts(ctx, func() (err error) {
		w, err = e.logsKV.WatchAll(wctx, jetstream.UpdatesOnly(), jetstream.IgnoreDeletes())
		return err
	})
	if !detach() && err == nil {
		_ = w.Stop()
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		return fmt.Errorf("jetstream: watch bucket %s: %w", logsBucket, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Stop closes Updates.
		for kve := range w.Updates() {
			if kve != nil {
				e.entryChanged(kve)
			}
		}
	}()
	e.stopWatch = func() {
		_ = w.Stop()
		cancel()
		<-done
	}
	return nil
}

// entryChanged gives a changed entry to the log's state, if this node
// holds one. Entries it cannot read are left to loadEntry's error.
func (e *Engine) entryChanged(kve jetstream.KeyValueEntry) {
	name, err := hex.DecodeString(kve.Key())
	if err != nil {
		return
	}
	entry, err := decodeEntry(string(name), kve.Value())
	if err != nil {
		return
	}
	e.mu.Lock()
	st := e.logs[string(name)]
	e.mu.Unlock()
	if st != nil {
		_ = st.takeEntry(entry, kve.Revision())
	}
}

// retryTimeouts calls f again for as long as it times out on its own (a
// deadline of the client's, not ctx's) and ctx lasts, and returns its
// last error.
func retryTimeouts(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return err
		}
	}
}

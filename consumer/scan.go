package consumer

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ScanConfig configures Scan.
type ScanConfig struct {
	Stream string
	Client Client
	// From is where reading starts: TrimHorizon (default), Latest, or
	// AtTimestamp (Timestamp).
	From      string
	Timestamp time.Time
	// Follow keeps reading new records until ctx ends. Without it, Scan
	// returns once every shard has been read to its tip or its end.
	Follow bool
	// IdleTime is the pause between reads at a shard's tip; default 1 s.
	IdleTime time.Duration
	// FanOut, when set, reads by enhanced fan-out as the registered
	// stream consumer of that name (see Config.FanOut, and the HTTP client
	// it needs).
	FanOut string
	Logger *slog.Logger
}

// Scan calls fn with every record of the stream, one call at a time:
// each shard's records in order, parents' before children's, KPL
// aggregates unpacked. It is one Worker with leases in memory, for a
// program that wants one function rather than processors and leases
// (nothing is remembered between runs). An error from fn stops the scan
// and is returned, as is the stream's deletion (ResourceNotFoundException);
// ctx ending stops it and returns ctx's error. Other failed calls are
// logged and tried again.
func Scan(ctx context.Context, cfg ScanConfig, fn func(Record) error) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu     sync.Mutex
		fnErr  error
		caught = map[string]bool{} // shards read to their tip since their last records
	)
	store := NewMemoryLeaseStore()
	w, err := NewWorker(Config{
		Stream: cfg.Stream, Client: cfg.Client, Leases: store, WorkerID: "scan",
		InitialPosition: cfg.From, Timestamp: cfg.Timestamp, IdleTime: cfg.IdleTime, Logger: cfg.Logger, FanOut: cfg.FanOut,
		NewProcessor: func(shard string) Processor {
			return &scanProc{deliver: func(recs []Record) bool {
				mu.Lock()
				defer mu.Unlock()
				delete(caught, shard)
				for _, r := range recs {
					if fnErr != nil {
						return false
					}
					if err := fn(r); err != nil {
						fnErr = err
						cancel()
						return false
					}
				}
				return true
			}}
		},
		onIdle: func(shard string) {
			mu.Lock()
			caught[shard] = true
			mu.Unlock()
		},
		onGone: func(err error) {
			mu.Lock()
			if fnErr == nil {
				fnErr = fmt.Errorf("consumer: reading %s: %w", cfg.Stream, err)
			}
			mu.Unlock()
			cancel()
		},
	})
	if err != nil {
		return err
	}
	done := make(chan struct{})
	if !cfg.Follow {
		go func() {
			defer close(done)
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				leases, err := store.List(ctx)
				if err != nil || len(leases) == 0 {
					continue
				}
				all := true
				mu.Lock()
				for _, l := range leases {
					all = all && (l.Checkpoint.SequenceNumber == ShardEnd || caught[l.Key])
				}
				mu.Unlock()
				if all {
					cancel()
					return
				}
			}
		}()
	} else {
		close(done)
	}
	runErr := w.Run(ctx)
	<-done
	mu.Lock()
	defer mu.Unlock()
	switch {
	case fnErr != nil:
		return fnErr
	case runErr != nil:
		return runErr
	}
	return parent.Err()
}

// scanProc is Scan's Processor: it hands batches to Scan's function and
// checkpoints in memory.
type scanProc struct {
	deliver func([]Record) bool
}

func (p *scanProc) Initialize(context.Context, InitializeInput) error { return nil }

func (p *scanProc) ProcessRecords(ctx context.Context, in ProcessRecordsInput) error {
	if p.deliver(in.Records) {
		return in.Checkpointer.Checkpoint(ctx)
	}
	return nil
}

func (p *scanProc) LeaseLost(context.Context) {}

func (p *scanProc) ShardEnded(ctx context.Context, cp Checkpointer) error {
	return cp.Checkpoint(ctx)
}

func (p *scanProc) ShutdownRequested(context.Context, Checkpointer) error { return nil }

package stream

import (
	"context"
	"fmt"
	"slices"
)

// StreamBytes is what one stream's shard logs take in the storage engine.
type StreamBytes struct {
	Scope  Scope
	Stream string
	Bytes  int64
}

// StorageBytes sums, per stream, the bytes logBytes reports for its shard
// logs, logBytes being by log name as an engine reports it
// (storage/local's LogBytes). The engine knows logs by name only and this
// package knows which stream a log belongs to; the two meet here, at the
// caller's request (a metrics scrape), so that neither keeps a second
// account of the bytes.
//
// Every stream of every scope that is not gone is listed, DELETING ones
// included, with 0 when logBytes names none of its logs; logs of no such
// stream (a deletion the reaper has not finished, or a log this package
// did not make) are left out. Streams come sorted by account, region and
// name.
func (s *Service) StorageBytes(ctx context.Context, logBytes map[string]int64) ([]StreamBytes, error) {
	entries, err := s.meta.List(ctx, streamsPrefix)
	if err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	now := s.now()
	byID := make(map[string]int, len(entries)) // stream id → index in out
	out := make([]StreamBytes, 0, len(entries))
	for _, me := range entries {
		e, err := s.decoded.decode(me)
		if err != nil {
			return nil, err
		}
		if _, ok := e.rec.status(now); !ok {
			continue
		}
		byID[e.rec.ID] = len(out)
		out = append(out, StreamBytes{Scope: Scope{Account: e.rec.Account, Region: e.rec.Region}, Stream: e.rec.Name})
	}
	for name, n := range logBytes {
		id, ok := logStreamID(name)
		if !ok {
			continue
		}
		if i, ok := byID[id]; ok {
			out[i].Bytes += n
		}
	}
	slices.SortFunc(out, func(a, b StreamBytes) int {
		return cmpJoin(a.Scope.Account, b.Scope.Account, a.Scope.Region, b.Scope.Region, a.Stream, b.Stream)
	})
	return out, nil
}

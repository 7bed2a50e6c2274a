package stream

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// secretKey holds 32 random bytes from which the keys that sign shard
// iterators and pagination tokens are derived.
const secretKey = "secrets/stream"

// loadSecret returns the catalogue's secret, creating it on first start.
// When two processes race to create it, the loser reads the winner's.
func loadSecret(ctx context.Context, meta storage.MetaStore) ([]byte, error) {
	e, err := meta.Get(ctx, secretKey)
	if err == nil {
		if len(e.Value) < 32 {
			return nil, fmt.Errorf("secret %s: %w: %d bytes", secretKey, storage.ErrCorrupt, len(e.Value))
		}
		return e.Value, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("make secret: %w", err)
	}
	_, err = meta.CompareAndSwap(ctx, secretKey, secret, 0)
	if errors.Is(err, storage.ErrConflict) {
		return loadSecret(ctx, meta)
	}
	if err != nil {
		return nil, fmt.Errorf("store secret: %w", err)
	}
	return secret, nil
}

// deriveKey gives each use of the secret its own key, so that a token can
// never be passed off as an iterator or the other way round.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// shardLog returns the log of a shard, from the handle cache when it can.
func (s *Service) shardLog(ctx context.Context, rec *streamRecord, index uint32) (storage.ShardLog, error) {
	name := logName(rec.ID, index)
	s.logsMu.Lock()
	l, ok := s.logs[name]
	s.logsMu.Unlock()
	if ok {
		return l, nil
	}
	l, err := s.engine.Log(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("open shard log %s: %w", name, err)
	}
	s.logsMu.Lock()
	s.logs[name] = l
	s.logsMu.Unlock()
	return l, nil
}

// deleteLogs deletes the logs of a stream's shards. Logs already gone are
// fine: deletion may be retried after a crash or race with the reaper.
func (s *Service) deleteLogs(ctx context.Context, id string, shards int) error {
	s.throttle.forget(id)
	s.metrics.forget(id)
	if s.dedup != nil {
		s.dedup.forget(id)
	}
	for i := range shards {
		name := logName(id, uint32(i))
		s.logsMu.Lock()
		delete(s.logs, name)
		s.logsMu.Unlock()
		if err := s.engine.DeleteLog(ctx, name); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("delete shard log %s: %w", name, err)
		}
	}
	return nil
}

// finishDeletion removes a gone stream: its logs first, then its catalogue
// entry, so that a crash in between leaves an entry the next reap finishes.
// An entry that changed meanwhile (the name was re-created) is left alone.
func (s *Service) finishDeletion(ctx context.Context, key string, e entry) error {
	if err := s.deleteLogs(ctx, e.rec.ID, e.rec.logCount()); err != nil {
		return err
	}
	err := s.meta.Delete(ctx, key, e.rev)
	if err != nil && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("delete catalogue entry %s: %w", key, err)
	}
	if err == nil {
		s.decoded.forget(key)
	}
	return nil
}

// reap finishes the deletion of every stream whose DELETING period is over.
// Each stream's deletion is a task of its own, so a bug met on one stream
// leaves the others to be reaped.
func (s *Service) reap(ctx context.Context) error {
	entries, err := s.meta.List(ctx, streamsPrefix)
	if err != nil {
		return fmt.Errorf("reap: %w", err)
	}
	now := s.now()
	var errs []error
	for _, me := range entries {
		e, err := s.decoded.decode(me)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, ok := e.rec.status(now); ok {
			continue
		}
		err = s.tasks.Run("reap", func() error { return s.finishDeletion(ctx, me.Key, e) }, "stream", e.rec.Name)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// defaultReapInterval bounds how long a gone stream's logs outlive it when
// no wake-up arrives (e.g. under a fake clock). Reads never see them anyway.
const defaultReapInterval = time.Second

// reapLoop finishes deletions and interrupted reshards until ctx is done.
// A pass that fails, or panics, is logged and tried again at the next one.
func (s *Service) reapLoop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.reapInterval)
	defer t.Stop()
	// The first pass, at once, finishes the deletions a restart
	// interrupted (see New). Only those: New has just resumed the
	// interrupted reshards itself, and a reshard recorded since is being
	// completed by the call that recorded it.
	s.tasks.Run("reaper", func() error {
		if err := s.reap(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("stream: finishing deletions failed; will retry", "err", err)
		}
		return nil
	})
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
		s.tasks.Run("reaper", func() error {
			if err := s.reap(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("stream: finishing deletions failed; will retry", "err", err)
			}
			if err := s.resumeReshards(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("stream: finishing reshards failed; will retry", "err", err)
			}
			return nil
		})
	}
}

// nudge wakes the reaper after d.
func (s *Service) nudge(d time.Duration) {
	time.AfterFunc(d, func() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	})
}

// removeOrphanLogs deletes shard logs that no catalogue entry names: those
// of a CreateStream that crashed between creating its logs and recording
// the stream. It runs before the Service takes requests, when no creation
// can be in flight.
func (s *Service) removeOrphanLogs(ctx context.Context) error {
	entries, err := s.meta.List(ctx, streamsPrefix)
	if err != nil {
		return fmt.Errorf("list streams: %w", err)
	}
	known := make(map[string]bool, len(entries))
	for _, me := range entries {
		e, err := decodeRecord(me)
		if err != nil {
			return err
		}
		known[e.rec.ID] = true
	}
	names, err := s.engine.ListLogs(ctx)
	if err != nil {
		return fmt.Errorf("list logs: %w", err)
	}
	for _, name := range names {
		id, ok := logStreamID(name)
		if !ok || known[id] {
			continue
		}
		s.log.Info("stream: removing orphaned shard log", "log", name)
		if err := s.engine.DeleteLog(ctx, name); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("delete orphaned log %s: %w", name, err)
		}
	}
	return nil
}

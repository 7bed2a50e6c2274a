package consumer

import (
	"context"
	"slices"
	"sync"
)

// MemoryLeaseStore is a LeaseStore in memory, for the workers of one
// process and for tests. Its leases are copies: a Lease returned can be
// changed freely.
type MemoryLeaseStore struct {
	mu     sync.Mutex
	leases map[string]Lease
}

// NewMemoryLeaseStore returns an empty store.
func NewMemoryLeaseStore() *MemoryLeaseStore {
	return &MemoryLeaseStore{leases: make(map[string]Lease)}
}

var _ LeaseStore = (*MemoryLeaseStore)(nil)

// Init does nothing: the store is ready when made.
func (s *MemoryLeaseStore) Init(ctx context.Context) error { return ctx.Err() }

func (s *MemoryLeaseStore) Create(ctx context.Context, l Lease) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.leases[l.Key]; ok {
		return ErrLeaseExists
	}
	s.leases[l.Key] = clone(l)
	return nil
}

func (s *MemoryLeaseStore) Get(ctx context.Context, key string) (Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leases[key]
	if !ok {
		return Lease{}, ErrLeaseNotFound
	}
	return clone(l), nil
}

func (s *MemoryLeaseStore) List(ctx context.Context) ([]Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Lease, 0, len(s.leases))
	for _, l := range s.leases {
		out = append(out, clone(l))
	}
	return out, nil
}

func (s *MemoryLeaseStore) Update(ctx context.Context, l Lease) (Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.leases[l.Key]
	switch {
	case !ok:
		return Lease{}, ErrLeaseNotFound
	case old.Counter != l.Counter:
		return Lease{}, ErrLeaseChanged
	}
	l = clone(l)
	l.Counter++
	s.leases[l.Key] = l
	return clone(l), nil
}

func (s *MemoryLeaseStore) Delete(ctx context.Context, l Lease) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.leases[l.Key]
	switch {
	case !ok:
		return ErrLeaseNotFound
	case old.Counter != l.Counter:
		return ErrLeaseChanged
	}
	delete(s.leases, l.Key)
	return nil
}

// clone copies the slices and the pointer of l, so that the store and its
// callers share nothing.
func clone(l Lease) Lease {
	l.ParentShardIDs = slices.Clone(l.ParentShardIDs)
	l.ChildShardIDs = slices.Clone(l.ChildShardIDs)
	l.PendingCheckpointState = slices.Clone(l.PendingCheckpointState)
	if l.PendingCheckpoint != nil {
		c := *l.PendingCheckpoint
		l.PendingCheckpoint = &c
	}
	return l
}

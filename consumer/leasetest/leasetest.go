// Package leasetest checks that a consumer.LeaseStore keeps the contract
// its interface documents. Every implementation's tests call Run.
package leasetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/tributary-io/tributary/consumer"
)

// Run runs the conformance tests, each on a new, empty store from
// newStore (already Init'ed by Run).
func Run(t *testing.T, newStore func(t *testing.T) consumer.LeaseStore) {
	store := func(t *testing.T) (context.Context, consumer.LeaseStore) {
		t.Helper()
		ctx := context.Background()
		s := newStore(t)
		if err := s.Init(ctx); err != nil {
			t.Fatalf("Init: %v", err)
		}
		if err := s.Init(ctx); err != nil {
			t.Fatalf("Init a second time: %v", err)
		}
		return ctx, s
	}
	t.Run("RoundTrip", func(t *testing.T) {
		ctx, s := store(t)
		for _, l := range []consumer.Lease{full(), minimal()} {
			if err := s.Create(ctx, l); err != nil {
				t.Fatalf("Create(%s): %v", l.Key, err)
			}
			got, err := s.Get(ctx, l.Key)
			if err != nil {
				t.Fatalf("Get(%s): %v", l.Key, err)
			}
			same(t, "Get after Create", got, l)
		}
	})
	t.Run("CreateExisting", func(t *testing.T) {
		ctx, s := store(t)
		l := minimal()
		if err := s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		l.Owner = "someone"
		if err := s.Create(ctx, l); !errors.Is(err, consumer.ErrLeaseExists) {
			t.Fatalf("Create of an existing key = %v, want ErrLeaseExists", err)
		}
		got, _ := s.Get(ctx, l.Key)
		if got.Owner != "" {
			t.Errorf("the refused Create changed the lease: owner %q", got.Owner)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		ctx, s := store(t)
		if _, err := s.Get(ctx, "shardId-000000000009"); !errors.Is(err, consumer.ErrLeaseNotFound) {
			t.Errorf("Get = %v, want ErrLeaseNotFound", err)
		}
		if _, err := s.Update(ctx, minimal()); !errors.Is(err, consumer.ErrLeaseNotFound) {
			t.Errorf("Update = %v, want ErrLeaseNotFound", err)
		}
		if err := s.Delete(ctx, minimal()); !errors.Is(err, consumer.ErrLeaseNotFound) {
			t.Errorf("Delete = %v, want ErrLeaseNotFound", err)
		}
	})
	t.Run("Update", func(t *testing.T) {
		ctx, s := store(t)
		l := minimal()
		if err := s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		// Set every field, then clear them again.
		want := full()
		want.Key, want.Counter = l.Key, l.Counter
		got, err := s.Update(ctx, want)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		want.Counter++
		same(t, "Update's result", got, want)
		read, _ := s.Get(ctx, l.Key)
		same(t, "Get after Update", read, want)

		cleared := minimal()
		cleared.Counter = got.Counter
		got, err = s.Update(ctx, cleared)
		if err != nil {
			t.Fatalf("Update clearing the fields: %v", err)
		}
		cleared.Counter++
		same(t, "Update clearing the fields", got, cleared)
		read, _ = s.Get(ctx, l.Key)
		same(t, "Get after clearing", read, cleared)

		stale := cleared
		stale.Counter--
		stale.Owner = "late"
		if _, err := s.Update(ctx, stale); !errors.Is(err, consumer.ErrLeaseChanged) {
			t.Fatalf("Update with a stale counter = %v, want ErrLeaseChanged", err)
		}
		read, _ = s.Get(ctx, l.Key)
		same(t, "Get after a refused Update", read, cleared)
	})
	t.Run("Delete", func(t *testing.T) {
		ctx, s := store(t)
		l := minimal()
		if err := s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		moved, err := s.Update(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, l); !errors.Is(err, consumer.ErrLeaseChanged) {
			t.Fatalf("Delete with a stale counter = %v, want ErrLeaseChanged", err)
		}
		if err := s.Delete(ctx, moved); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Get(ctx, l.Key); !errors.Is(err, consumer.ErrLeaseNotFound) {
			t.Fatalf("Get after Delete = %v, want ErrLeaseNotFound", err)
		}
		if err := s.Create(ctx, l); err != nil {
			t.Fatalf("Create after Delete: %v", err)
		}
	})
	t.Run("List", func(t *testing.T) {
		ctx, s := store(t)
		if got, err := s.List(ctx); err != nil || len(got) != 0 {
			t.Fatalf("List of an empty store = %v, %v", got, err)
		}
		var keys []string
		for i := range 120 { // more than one page of some stores
			l := minimal()
			l.Key = fmt.Sprintf("shardId-%012d", i)
			l.Counter = int64(i)
			if err := s.Create(ctx, l); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, l.Key)
		}
		got, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var gotKeys []string
		for _, l := range got {
			gotKeys = append(gotKeys, l.Key)
			if want := fmt.Sprintf("shardId-%012d", l.Counter); l.Key != want {
				t.Errorf("lease %s has counter %d", l.Key, l.Counter)
			}
		}
		slices.Sort(gotKeys)
		if !slices.Equal(gotKeys, keys) {
			t.Errorf("List returned %d leases, want %d: %v", len(gotKeys), len(keys), gotKeys)
		}
	})
	t.Run("ConcurrentUpdates", func(t *testing.T) {
		ctx, s := store(t)
		l := minimal()
		if err := s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		// Eight workers read the lease and try to take it at once: one
		// wins, the others learn they lost.
		for round := range 5 {
			var wg sync.WaitGroup
			wins := make([]bool, 8)
			errs := make([]error, 8)
			for w := range wins {
				wg.Go(func() {
					take := l
					take.Owner = fmt.Sprint("worker-", w)
					_, errs[w] = s.Update(ctx, take)
					wins[w] = errs[w] == nil
				})
			}
			wg.Wait()
			won := -1
			for w, ok := range wins {
				switch {
				case ok && won >= 0:
					t.Fatalf("round %d: workers %d and %d both took the lease", round, won, w)
				case ok:
					won = w
				case !errors.Is(errs[w], consumer.ErrLeaseChanged):
					t.Fatalf("round %d: worker %d: %v, want ErrLeaseChanged", round, w, errs[w])
				}
			}
			if won < 0 {
				t.Fatalf("round %d: no worker took the lease", round)
			}
			got, _ := s.Get(ctx, l.Key)
			if got.Owner != fmt.Sprint("worker-", won) || got.Counter != l.Counter+1 {
				t.Fatalf("round %d: lease %+v after worker %d won", round, got, won)
			}
			l = got
		}
	})
	t.Run("Copies", func(t *testing.T) {
		ctx, s := store(t)
		l := full()
		if err := s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, l.Key)
		if err != nil || len(got.ParentShardIDs) == 0 || got.PendingCheckpoint == nil || len(got.PendingCheckpointState) == 0 {
			t.Fatalf("Get: %+v, %v", got, err)
		}
		got.ParentShardIDs[0] = "changed"
		got.PendingCheckpoint.SequenceNumber = "changed"
		got.PendingCheckpointState[0] ^= 0xff
		again, _ := s.Get(ctx, l.Key)
		same(t, "Get after changing a returned lease", again, full())
	})
}

// full is a lease with every field set, to the largest values KCL writes.
func full() consumer.Lease {
	return consumer.Lease{
		Key:     "shardId-000000000001",
		Owner:   "worker-a",
		Counter: 41,
		Checkpoint: consumer.Checkpoint{
			SequenceNumber:    "49590338271490256608559692538361571095921575989136588898",
			SubSequenceNumber: 7,
		},
		PendingCheckpoint: &consumer.Checkpoint{
			SequenceNumber:    "49590338271490256608559692540925702759324208523137515618",
			SubSequenceNumber: 2,
		},
		PendingCheckpointState:       []byte{0, 1, 2, 0xfe, 0xff},
		OwnerSwitchesSinceCheckpoint: 3,
		ParentShardIDs:               []string{"shardId-000000000000"},
		ChildShardIDs:                []string{"shardId-000000000002", "shardId-000000000003"},
		StartingHashKey:              "0",
		EndingHashKey:                "340282366920938463463374607431768211455",
		ThroughputKBps:               1234.5,
		CheckpointOwner:              "worker-b",
	}
}

// minimal is a new lease as a worker creates it for a shard it found.
func minimal() consumer.Lease {
	return consumer.Lease{
		Key:        "shardId-000000000004",
		Checkpoint: consumer.Checkpoint{SequenceNumber: consumer.TrimHorizon},
	}
}

// same compares leases, taking an empty slice and nil for the same.
func same(t *testing.T, what string, got, want consumer.Lease) {
	t.Helper()
	norm := func(l consumer.Lease) consumer.Lease {
		if len(l.ParentShardIDs) == 0 {
			l.ParentShardIDs = nil
		}
		if len(l.ChildShardIDs) == 0 {
			l.ChildShardIDs = nil
		}
		if len(l.PendingCheckpointState) == 0 {
			l.PendingCheckpointState = nil
		}
		slices.Sort(l.ParentShardIDs)
		slices.Sort(l.ChildShardIDs)
		return l
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

package mem_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/mem"
	"github.com/tributary-io/tributary/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		// Any id: memory keeps the setting and encrypts nothing.
		EncryptionKey: "any-key",
		Open: func(t testing.TB, dir string, now func() time.Time) storage.Engine {
			return mem.New(mem.Options{Now: now})
		},
	})
}

func TestPositionGap(t *testing.T) {
	cases := []struct {
		gap   uint64
		first uint64 // position of the first record
	}{
		{0, mem.DefaultPositionGap + 1},
		{1, 2},
		{3, 4},
		{1 << 40, 1<<40 + 1},
	}
	for _, tc := range cases {
		e := mem.New(mem.Options{PositionGap: tc.gap})
		l, err := e.CreateLog(t.Context(), "gaps", storage.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		gap := tc.gap
		if gap == 0 {
			gap = mem.DefaultPositionGap
		}
		var got []uint64
		for _, n := range []int{2, 1, 3} {
			app, err := l.Append(t.Context(), make([]storage.Record, n))
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range app {
				got = append(got, a.Position)
			}
		}
		// Each batch starts gap+1 past the previous batch's last record.
		f := tc.first
		want := []uint64{f, f + 1, f + 2 + gap, f + 3 + 2*gap, f + 4 + 2*gap, f + 5 + 2*gap}
		if len(got) != len(want) {
			t.Fatalf("gap %d: positions %v, want %v", tc.gap, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("gap %d: positions %v, want %v", tc.gap, got, want)
				break
			}
		}
	}
}

// TestNoAliasing checks that the engine copies record data and metadata
// values in and out, so that neither side can change the other's bytes.
func TestNoAliasing(t *testing.T) {
	ctx := t.Context()
	e := mem.New(mem.Options{})
	l, err := e.CreateLog(ctx, "alias", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("original")
	if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: data}}); err != nil {
		t.Fatal(err)
	}
	copy(data, "CHANGED!")
	res, err := l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Records[0].Data); got != "original" {
		t.Fatalf("after the caller changed its buffer, the record reads %q", got)
	}
	copy(res.Records[0].Data, "CHANGED!")
	res, err = l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Records[0].Data); got != "original" {
		t.Fatalf("after a reader changed what it read, the record reads %q", got)
	}

	m := e.Meta()
	value := []byte("original")
	if _, err := m.CompareAndSwap(ctx, "k", value, 0); err != nil {
		t.Fatal(err)
	}
	copy(value, "CHANGED!")
	got, err := m.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Value) != "original" {
		t.Fatalf("after the caller changed its buffer, the value reads %q", got.Value)
	}
	copy(got.Value, "CHANGED!")
	list, err := m.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if string(list[0].Value) != "original" {
		t.Fatalf("after a reader changed what it got, the value reads %q", list[0].Value)
	}
}

func TestDefaultClock(t *testing.T) {
	ctx := t.Context()
	e := mem.New(mem.Options{})
	before := time.Now().UnixMilli()
	l, err := e.CreateLog(ctx, "clock", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := l.Append(ctx, []storage.Record{{Key: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixMilli()
	if a := app[0].ArrivalTime; a < before || a > after {
		t.Errorf("with no clock given, the arrival time is %d, want between %d and %d", a, before, after)
	}
}

// TestExpiryFreesMemory checks that expired records stop counting towards
// Info.Bytes, which is how the engine shows it has let go of them.
func TestExpiryFreesMemory(t *testing.T) {
	ctx := t.Context()
	clock := storagetest.NewClock(time.Unix(1_700_000_000, 0))
	e := mem.New(mem.Options{Now: clock.Now})
	l, err := e.CreateLog(ctx, "expiry", storage.LogOptions{Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: make([]byte, 1<<20)}}); err != nil {
		t.Fatal(err)
	}
	info, err := l.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Bytes < 1<<20 {
		t.Errorf("Info.Bytes = %d holding a 1 MiB record", info.Bytes)
	}
	clock.Advance(2 * time.Hour)
	if info, err = l.Info(ctx); err != nil {
		t.Fatal(err)
	}
	if info.Bytes != 0 {
		t.Errorf("Info.Bytes = %d once the only record expired", info.Bytes)
	}
}

func TestInvalidArguments(t *testing.T) {
	ctx := t.Context()
	e := mem.New(mem.Options{})
	if _, err := e.CreateLog(ctx, "negative", storage.LogOptions{Retention: -time.Second}); err == nil {
		t.Error("CreateLog accepted a negative retention")
	}
	l, err := e.CreateLog(ctx, "log", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetRetention(ctx, -time.Second); err == nil {
		t.Error("SetRetention accepted a negative retention")
	}
	if _, err := l.Read(ctx, storage.Start{Kind: 99}, storage.ReadLimits{}); err == nil {
		t.Error("Read accepted an unknown start kind")
	}
	_, err = e.Meta().CompareAndSwap(ctx, "big", make([]byte, mem.MaxMetaValue+1), 0)
	if !errors.Is(err, storage.ErrTooLarge) {
		t.Errorf("CompareAndSwap of a value over MaxMetaValue: %v, want ErrTooLarge", err)
	}
}

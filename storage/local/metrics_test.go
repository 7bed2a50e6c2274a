package local

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tributary-io/tributary/storage"
)

// family returns the series of family name in reg with label file=file
// ("" for families without labels), or nil.
func family(t *testing.T, reg prometheus.Gatherer, name, file string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if file == "" && len(m.GetLabel()) == 0 {
				return m
			}
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "file" && lp.GetValue() == file {
					return m
				}
			}
		}
	}
	return nil
}

func gauge(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	m := family(t, reg, name, "")
	if m == nil {
		t.Fatalf("no %s", name)
	}
	return m.GetGauge().GetValue()
}

// TestEngineMetrics: group commits, fsyncs and the storage's sizes move
// by exactly what appends, a checkpoint and a deletion do.
func TestEngineMetrics(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	// No checkpoint or cleaning but the ones the test runs.
	e := openT(t, dir, Options{Metrics: reg, CheckpointInterval: time.Hour, CleanInterval: time.Hour})
	defer e.Close()
	l, err := e.CreateLog(ctx, "a", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Appends one after the other: each is a group of its own, fsynced.
	batches := [][]storage.Record{
		{{Key: "k", Data: []byte("one")}, {Key: "k", Data: []byte("two")}, {Key: "k", Data: []byte("three")}},
		{{Key: "k", Data: []byte("four")}, {Key: "k", Data: []byte("five")}},
	}
	for _, b := range batches {
		if _, err := l.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	records := family(t, reg, "tributary_storage_group_commit_records", "").GetHistogram()
	if records.GetSampleCount() != 2 || records.GetSampleSum() != 5 {
		t.Errorf("group commit records: %d groups, %v records; want 2, 5", records.GetSampleCount(), records.GetSampleSum())
	}
	if n := family(t, reg, "tributary_storage_fsyncs_total", syncJournal).GetCounter().GetValue(); n != 2 {
		t.Errorf("journal fsyncs %v, want 2", n)
	}
	if n := family(t, reg, "tributary_storage_fsync_duration_seconds", syncJournal).GetHistogram().GetSampleCount(); n != 2 {
		t.Errorf("journal fsync durations %v, want 2", n)
	}
	// The groups' bytes are the journal's.
	groupBytes := family(t, reg, "tributary_storage_group_commit_bytes", "").GetHistogram().GetSampleSum()
	if j := gauge(t, reg, "tributary_storage_journal_bytes"); groupBytes == 0 || j != groupBytes {
		t.Errorf("journal bytes %v, group commit bytes %v; want equal and positive", j, groupBytes)
	}
	// The log's bytes are its segment file's.
	segs, _ := filepath.Glob(filepath.Join(dir, "logs", "*", "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segment files %v", segs)
	}
	info, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := e.LogBytes(); len(got) != 1 || got["a"] != info.Size() {
		t.Errorf("LogBytes %v, want a: %d", got, info.Size())
	}
	if b := gauge(t, reg, "tributary_storage_bytes"); b != float64(info.Size()) {
		t.Errorf("storage bytes %v, want %d", b, info.Size())
	}
	if n := gauge(t, reg, "tributary_storage_segments"); n != 1 {
		t.Errorf("segments %v, want 1", n)
	}
	if n := gauge(t, reg, "tributary_storage_logs"); n != 1 {
		t.Errorf("logs %v, want 1", n)
	}
	if n := gauge(t, reg, "tributary_storage_open_files"); n != float64(e.OpenFiles()) || n < 1 {
		t.Errorf("open files %v, want %d (at least the segment)", n, e.OpenFiles())
	}

	// A checkpoint fsyncs the one segment written, and the journal it
	// rolls, whose files it then removes.
	if err := e.checkpoint(); err != nil {
		t.Fatal(err)
	}
	if n := family(t, reg, "tributary_storage_fsyncs_total", syncSegment).GetCounter().GetValue(); n != 1 {
		t.Errorf("segment fsyncs %v, want 1", n)
	}
	if n := family(t, reg, "tributary_storage_fsyncs_total", syncJournal).GetCounter().GetValue(); n != 3 {
		t.Errorf("journal fsyncs %v after the checkpoint, want 3", n)
	}
	if j := gauge(t, reg, "tributary_storage_journal_bytes"); j != 0 {
		t.Errorf("journal bytes %v after the checkpoint, want 0", j)
	}

	// Concurrent appends share groups: as many records, fewer or as many
	// groups.
	const writers = 8
	errs := make(chan error, writers)
	for range writers {
		go func() {
			_, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("x")}})
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	records = family(t, reg, "tributary_storage_group_commit_records", "").GetHistogram()
	if records.GetSampleSum() != 5+writers || records.GetSampleCount() > 2+writers {
		t.Errorf("after %d concurrent appends: %d groups, %v records; want at most %d, %d",
			writers, records.GetSampleCount(), records.GetSampleSum(), 2+writers, 5+writers)
	}

	// Deleting the log takes its bytes away.
	if err := e.DeleteLog(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if b := gauge(t, reg, "tributary_storage_bytes"); b != 0 {
		t.Errorf("storage bytes %v after the deletion, want 0", b)
	}
	if n := gauge(t, reg, "tributary_storage_logs"); n != 0 {
		t.Errorf("logs %v after the deletion, want 0", n)
	}
}

// TestEngineMetricsRegistration: an engine's metrics leave the registry
// when it closes, so that the next engine can register its own, and a
// second engine on a registry already holding them fails to open.
func TestEngineMetricsRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := openT(t, t.TempDir(), Options{Metrics: reg})
	if _, err := Open(t.TempDir(), Options{Metrics: reg}); err == nil {
		t.Fatal("a second engine registered its metrics over the first's")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if mfs, _ := reg.Gather(); len(mfs) != 0 {
		t.Errorf("%d families left after Close", len(mfs))
	}
	b := openT(t, t.TempDir(), Options{Metrics: reg})
	defer b.Close()
	if family(t, reg, "tributary_storage_logs", "") == nil {
		t.Error("the reopened engine's metrics are not registered")
	}
}

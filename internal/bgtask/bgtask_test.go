package bgtask

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRunCountsAndContainsPanics(t *testing.T) {
	var logs bytes.Buffer
	r := New(slog.New(slog.NewTextHandler(&logs, nil)))
	// A clock that moves a second each time it is read: every run takes
	// one second, but the one that reads it once more itself.
	var clock time.Time
	r.now = func() time.Time { clock = clock.Add(time.Second); return clock }

	if err := r.Run("clean", func() error { return nil }); err != nil {
		t.Fatalf("a task that succeeds: %v", err)
	}
	boom := errors.New("disk on fire")
	if err := r.Run("clean", func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("a task that fails: %v, want its error", err)
	}
	err := r.Run("clean", func() error {
		var s []int
		_ = s[len(s)-1] // the kind of bug this package exists for
		return nil
	}, "log", "a")
	var p *PanicError
	if !errors.As(err, &p) || p.Task != "clean" || !strings.Contains(p.Stack, "bgtask_test.go") {
		t.Fatalf("a task that panics: %#v", err)
	}

	want := Stats{Runs: 3, Failures: 2, Panics: 1, LastSeconds: 1}
	if got := r.Stats()["clean"]; got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	if err := r.Run("slow", func() error { r.now(); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := r.Stats()["slow"].LastSeconds; got != 2 {
		t.Errorf("the last run of a task that took 2s: %vs", got)
	}
	if r.Panics() != 1 {
		t.Fatalf("Panics() = %d", r.Panics())
	}
	out := logs.String()
	for _, want := range []string{"level=ERROR", "task=clean", "index out of range", "log=a", "bgtask_test.go"} {
		if !strings.Contains(out, want) {
			t.Errorf("the panic's log line lacks %q:\n%s", want, out)
		}
	}
}

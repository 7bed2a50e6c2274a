// Package bgtask runs a server's background work (cleaning, checkpoints,
// reaping, scaling) so that a bug in it is contained: a panic is recovered,
// logged with its stack at error level and counted, and the caller learns
// of it as an error and decides what to fence off. Without this, a panic
// in any background goroutine ends the whole process, and with it every
// stream that had nothing to do with the bug.
package bgtask

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"
)

// Stats counts the runs of one task.
type Stats struct {
	Runs     int64 `json:"runs"`     // every call of Run
	Failures int64 `json:"failures"` // runs that returned an error, panics included
	Panics   int64 `json:"panics"`   // runs that panicked
	// LastSeconds is how long the last run took, panicked or not.
	LastSeconds float64 `json:"last_duration_seconds"`
}

// Runner runs tasks and keeps their Stats. The zero value is not usable;
// create one with New. It is safe for concurrent use.
type Runner struct {
	log   *slog.Logger
	now   func() time.Time // the clock runs are timed with; tests replace it
	mu    sync.Mutex
	stats map[string]*Stats
}

// New returns a Runner that logs panics to log (nil: slog.Default()).
func New(log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	return &Runner{log: log, now: time.Now, stats: make(map[string]*Stats)}
}

// PanicError is what Run returns when the task panicked.
type PanicError struct {
	Task  string
	Value any    // what the task panicked with
	Stack string // the goroutine's stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("background task %s panicked: %v", e.Task, e.Value)
}

// Run calls fn, recovering a panic, and counts the outcome under name.
// It returns fn's error, or a *PanicError if fn panicked. attrs are added
// to the log line of a panic (the stream or log the task was working on).
func (r *Runner) Run(name string, fn func() error, attrs ...any) (err error) {
	start := r.now()
	defer func() {
		v := recover()
		if v != nil {
			p := &PanicError{Task: name, Value: v, Stack: string(debug.Stack())}
			r.log.Error("background task panicked; it is contained and the server goes on",
				append([]any{"task", name, "panic", fmt.Sprint(v), "stack", p.Stack}, attrs...)...)
			err = p
		}
		r.count(name, err, v != nil, r.now().Sub(start))
	}()
	return fn()
}

func (r *Runner) count(name string, err error, panicked bool, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats[name]
	if s == nil {
		s = new(Stats)
		r.stats[name] = s
	}
	s.Runs++
	if err != nil {
		s.Failures++
	}
	if panicked {
		s.Panics++
	}
	s.LastSeconds = took.Seconds()
}

// Stats returns a copy of every task's counts, by task name.
func (r *Runner) Stats() map[string]Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Stats, len(r.stats))
	for name, s := range r.stats {
		out[name] = *s
	}
	return out
}

// Panics is the number of panics across all tasks.
func (r *Runner) Panics() int64 {
	var n int64
	for _, s := range r.Stats() {
		n += s.Panics
	}
	return n
}

// Names returns the names of the tasks that have run, sorted.
func (r *Runner) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.stats))
	for name := range r.stats {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

package mem_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/mem"
	"github.com/tributary-io/tributary/storage/storagetest"
)

// faultEnv names the fault TestFaultyEngine injects. Only the child
// processes of TestSuiteCatchesFaults set it.
const faultEnv = "TRIBUTARY_MEM_TEST_FAULT"

// TestSuiteCatchesFaults checks that the conformance suite can fail: it
// runs one subtest against an engine with a deliberate fault, in a child
// process because a failing subtest would fail this test too.
func TestSuiteCatchesFaults(t *testing.T) {
	if os.Getenv(faultEnv) != "" {
		t.Skip("running as a child")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ fault, subtest string }{
		{"ignore-max-bytes", "ReadLimits"},
		{"no-retention", "Retention"},
		{"next-skips", "FollowWithNext"},
		{"wait-returns-at-once", "Wait"},
		{"seal-returns-zero", "Seal"},
		{"append-after-seal", "SealRacingAppends"},
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), exe,
				"-test.run=^TestFaultyEngine$/^"+tc.subtest+"$", "-test.count=1", "-test.timeout=60s")
			cmd.Env = append(os.Environ(), faultEnv+"="+tc.fault)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite's %s passed an engine with fault %s:\n%s", tc.subtest, tc.fault, out)
			}
			if want := "--- FAIL: TestFaultyEngine/" + tc.subtest; !bytes.Contains(out, []byte(want)) || bytes.Contains(out, []byte("panic:")) {
				t.Fatalf("want a plain failure of %s, got:\n%s", tc.subtest, out)
			}
		})
	}
}

func TestFaultyEngine(t *testing.T) {
	fault := os.Getenv(faultEnv)
	if fault == "" {
		t.Skip("only run by TestSuiteCatchesFaults")
	}
	storagetest.Run(t, storagetest.Harness{
		Open: func(t testing.TB, dir string, now func() time.Time) storage.Engine {
			return &faultyEngine{Engine: mem.New(mem.Options{Now: now}), fault: fault}
		},
	})
}

type faultyEngine struct {
	*mem.Engine
	fault string
}

func (e *faultyEngine) CreateLog(ctx context.Context, name string, opts storage.LogOptions) (storage.ShardLog, error) {
	if e.fault == "no-retention" {
		opts.Retention = 0
	}
	l, err := e.Engine.CreateLog(ctx, name, opts)
	if err != nil {
		return nil, err
	}
	return &faultyLog{ShardLog: l, fault: e.fault}, nil
}

func (e *faultyEngine) Log(ctx context.Context, name string) (storage.ShardLog, error) {
	l, err := e.Engine.Log(ctx, name)
	if err != nil {
		return nil, err
	}
	return &faultyLog{ShardLog: l, fault: e.fault}, nil
}

type faultyLog struct {
	storage.ShardLog
	fault string
}

func (l *faultyLog) Read(ctx context.Context, start storage.Start, limits storage.ReadLimits) (storage.ReadResult, error) {
	if l.fault == "ignore-max-bytes" {
		limits.MaxBytes = 0
	}
	res, err := l.ShardLog.Read(ctx, start, limits)
	if l.fault == "next-skips" && len(res.Records) > 0 {
		res.Next++
	}
	return res, err
}

func (l *faultyLog) Wait(ctx context.Context, p uint64) error {
	if l.fault == "wait-returns-at-once" {
		return ctx.Err()
	}
	return l.ShardLog.Wait(ctx, p)
}

func (l *faultyLog) Seal(ctx context.Context) (uint64, error) {
	p, err := l.ShardLog.Seal(ctx)
	if l.fault == "seal-returns-zero" {
		p = 0
	}
	return p, err
}

func (l *faultyLog) Append(ctx context.Context, batch []storage.Record) ([]storage.Appended, error) {
	app, err := l.ShardLog.Append(ctx, batch)
	if l.fault == "append-after-seal" && errors.Is(err, storage.ErrSealed) {
		// Models an engine whose fence lets an append through after Seal
		// has taken the last position: it reports positions past the seal
		// for records no read will return.
		info, ierr := l.ShardLog.Info(ctx)
		if ierr != nil {
			return nil, ierr
		}
		app = make([]storage.Appended, len(batch))
		for i := range app {
			app[i] = storage.Appended{Position: info.SealedAt + 1 + uint64(i), ArrivalTime: info.LastArrival}
		}
		return app, nil
	}
	return app, err
}

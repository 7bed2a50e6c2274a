package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/internal/cli"
)

// progressInterval is the time between progress lines.
const progressInterval = time.Second

// progress prints a line a second while a workload runs. On a terminal it
// rewrites one line in place; elsewhere (a log, a CI job, a pipe to the
// compare script) it prints a plain line each second, since carriage
// returns make a mess of files.
type progress struct {
	w   io.Writer
	tty bool
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: cli.IsTerminal(w)}
}

// start reports the rate at which count grows, under label, every second
// until the returned function is called.
func (p *progress) start(label string, count *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		begin := time.Now()
		last, lastN, width := begin, int64(0), 0
		show := func(line string) {
			if !p.tty {
				fmt.Fprintln(p.w, line)
				return
			}
			// Pad over the rest of a longer previous line.
			pad := max(width-len(line), 0)
			fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
			width = len(line)
		}
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				// A closing line with the whole run's rate, so that even a
				// workload shorter than a tick reports something.
				n, elapsed := count.Load(), time.Since(begin)
				show(fmt.Sprintf("%s: %.1fs %s records, %s rec/s overall", label, elapsed.Seconds(),
					cli.Thousands(n), cli.Thousands(int64(float64(n)/max(elapsed.Seconds(), 1e-9)))))
				if p.tty {
					fmt.Fprint(p.w, "\n")
				}
				return
			case now := <-t.C:
				n := count.Load()
				rate := float64(n-lastN) / now.Sub(last).Seconds()
				last, lastN = now, n
				show(fmt.Sprintf("%s: %.1fs %s rec/s", label, now.Sub(begin).Seconds(), cli.Thousands(int64(rate))))
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

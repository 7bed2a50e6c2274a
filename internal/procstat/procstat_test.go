package procstat

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{
			name:   "real layout",
			status: "Name:\ttributary\nState:\tS (sleeping)\nVmPeak:\t 1300000 kB\nVmSize:\t 1250000 kB\nVmHWM:\t   60000 kB\nVmRSS:\t   51234 kB\nRssAnon:\t   40000 kB\nThreads:\t12\n",
			want:   51234 * 1024,
		},
		{name: "zero", status: "VmRSS:\t       0 kB\n", want: 0},
		{name: "spaces instead of tab", status: "VmRSS: 12 kB", want: 12 * 1024},
		{name: "VmRSS only at the end without newline", status: "Name:\tx\nVmRSS:\t4 kB", want: 4096},
		{name: "missing, as for a kernel thread", status: "Name:\tkthreadd\nState:\tS (sleeping)\n", wantErr: true},
		{name: "empty file", status: "", wantErr: true},
		{name: "no unit", status: "VmRSS:\t12\n", wantErr: true},
		{name: "other unit", status: "VmRSS:\t12 MB\n", wantErr: true},
		{name: "not a number", status: "VmRSS:\tlots kB\n", wantErr: true},
		{name: "negative", status: "VmRSS:\t-1 kB\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVmRSS(strings.NewReader(tt.status))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseVmRSS error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseVmRSS = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseVmRSSMissingIsErrNoVmRSS(t *testing.T) {
	_, err := ParseVmRSS(strings.NewReader("Name:\tx\n"))
	if !errors.Is(err, ErrNoVmRSS) {
		t.Errorf("error = %v, want ErrNoVmRSS", err)
	}
}

func TestParseState(t *testing.T) {
	tests := []struct {
		line string
		want byte
	}{
		{"1234 (tributary) S 1 1234 ...", 'S'},
		{"1234 (a b) c) Z 1 ...", 'Z'},
		{"1 (init) R 0", 'R'},
	}
	for _, tt := range tests {
		got, err := parseState(tt.line)
		if err != nil || got != tt.want {
			t.Errorf("parseState(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "1234 tributary S", "1234 (x)", "1234 (x)S"} {
		if _, err := parseState(bad); err == nil {
			t.Errorf("parseState(%q): no error", bad)
		}
	}
}

func requireProc(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
}

func TestSelf(t *testing.T) {
	requireProc(t)
	n, err := RSS(0)
	if err != nil || n <= 0 || n%1024 != 0 {
		t.Errorf("RSS(self) = %d, %v; want a positive multiple of 1024", n, err)
	}
	if m, err := RSS(os.Getpid()); err != nil || m <= 0 {
		t.Errorf("RSS(own pid) = %d, %v", m, err)
	}
	before, err := OpenFDs(0)
	if err != nil || before < 3 {
		t.Fatalf("OpenFDs(self) = %d, %v; want at least stdin, stdout and stderr", before, err)
	}
	name := filepath.Join(t.TempDir(), "open")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	after, err := OpenFDs(0)
	if err != nil || after != before+1 {
		t.Errorf("OpenFDs after opening a file = %d, %v; want %d", after, err, before+1)
	}
	targets, err := FDTargets(0)
	f.Close()
	if err != nil || !slices.Contains(targets, name) {
		t.Errorf("FDTargets with %s open = %q, %v", name, targets, err)
	}
	if alive, err := Alive(os.Getpid()); !alive || err != nil {
		t.Errorf("Alive(self) = %v, %v", alive, err)
	}
}

// A child that exited is not alive, whether or not it was waited for.
func TestAliveChild(t *testing.T) {
	requireProc(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Until Wait, the exited child is a zombie; poll until it has exited.
	deadline := time.Now().Add(30 * time.Second)
	for {
		alive, err := Alive(pid)
		if err != nil {
			t.Fatal(err)
		}
		if !alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("child still alive after 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Wait()
	if alive, err := Alive(pid); alive || err != nil {
		t.Errorf("Alive(reaped child) = %v, %v; want false, nil", alive, err)
	}
	if _, err := RSS(pid); err == nil {
		t.Error("RSS of a reaped child: no error")
	}
}

func TestParseCPUTicks(t *testing.T) {
	tests := []struct {
		line string
		want int64
	}{
		// utime 7 and stime 5 are the 14th and 15th fields.
		{"1234 (tributary) S 1 1234 1234 0 -1 4194304 98 0 0 0 7 5 0 0 20 0 1 0", 12},
		// A command name with spaces and a parenthesis shifts nothing.
		{"1234 (a b) c) R 1 1234 1234 0 -1 4194304 98 0 0 0 300 45 0 0 20", 345},
		{"1 (init) S 0 1 1 0 -1 0 0 0 0 0 0 0", 0},
	}
	for _, tt := range tests {
		got, err := parseCPUTicks(tt.line)
		if err != nil || got != tt.want {
			t.Errorf("parseCPUTicks(%q) = %d, %v; want %d", tt.line, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "1234 tributary S", "1234 (x) S 1 2 3", "1 (x) S 0 1 1 0 -1 0 0 0 0 0 x 0", "1 (x) S 0 1 1 0 -1 0 0 0 0 0 1 -2"} {
		if _, err := parseCPUTicks(bad); err == nil {
			t.Errorf("parseCPUTicks(%q): no error", bad)
		}
	}
}

func TestCPUTimeSelfGrows(t *testing.T) {
	requireProc(t)
	before, err := CPUTime(0)
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's 10 ms tick has counted some of it; the
	// loop ends on the reading, not on a clock.
	x := 0
	for after := before; after <= before; {
		for i := range 1_000_000 {
			x += i
		}
		if after, err = CPUTime(0); err != nil {
			t.Fatal(err)
		}
	}
	_ = x
}

// Package procstat reads what Linux's /proc tells about a process: its
// resident memory, its CPU time, its open file descriptors and whether it
// is still running. The server reports its own figures with it (the
// admin API's stats) and the benchmark watches a server process it is given the pid
// of. On systems without /proc every function fails with an error that
// wraps fs.ErrNotExist.
package procstat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// dir is the /proc directory of pid; 0 means the calling process.
func dir(pid int) string {
	if pid == 0 {
		return "/proc/self"
	}
	return "/proc/" + strconv.Itoa(pid)
}

// RSS returns the resident set size of process pid (0: this process) in
// bytes, from /proc/<pid>/status.
func RSS(pid int) (int64, error) {
	f, err := os.Open(dir(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := ParseVmRSS(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return n, nil
}

// ErrNoVmRSS is returned for a status file without a VmRSS line, which is
// the case of kernel threads and zombies.
var ErrNoVmRSS = errors.New("no VmRSS line")

// ParseVmRSS returns the VmRSS of a /proc/<pid>/status file in bytes. The
// kernel writes it as "VmRSS:	   12345 kB", where kB means KiB.
func ParseVmRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("malformed VmRSS line %q", sc.Text())
		}
		kib, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kib < 0 || kib > (1<<53) {
			return 0, fmt.Errorf("malformed VmRSS value %q", fields[0])
		}
		return kib * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, ErrNoVmRSS
}

// OpenFDs returns the number of open file descriptors of process pid (0:
// this process), from /proc/<pid>/fd. Reading another user's process needs
// privileges. For pid 0 the descriptor that reads the directory, open only
// while it is read, is not counted.
func OpenFDs(pid int) (int, error) {
	entries, err := os.ReadDir(dir(pid) + "/fd")
	if err != nil {
		return 0, err
	}
	if pid == 0 {
		return len(entries) - 1, nil
	}
	return len(entries), nil
}

// FDTargets returns what each open file descriptor of process pid (0:
// this process) refers to, as /proc/<pid>/fd's links read: a path, or
// "socket:[inode]", "pipe:[inode]", "anon_inode:[eventpoll]"... A
// descriptor closed while the directory is read is left out.
func FDTargets(pid int) ([]string, error) {
	d := dir(pid) + "/fd"
	entries, err := os.ReadDir(d)
	if err != nil {
		return nil, err
	}
	targets := make([]string, 0, len(entries))
	for _, e := range entries {
		t, err := os.Readlink(d + "/" + e.Name())
		if err != nil {
			continue
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// Alive reports whether process pid exists and has not exited. A child
// that exited but was not yet waited for (a zombie) is not alive, which is
// what a parent watching its child needs. It returns an error only when
// /proc cannot tell.
func Alive(pid int) (bool, error) {
	b, err := os.ReadFile(dir(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat("/proc/self/stat"); serr != nil {
			return false, fmt.Errorf("no /proc to tell whether pid %d runs: %w", pid, serr)
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	state, err := parseState(string(b))
	if err != nil {
		return false, fmt.Errorf("%s/stat: %w", dir(pid), err)
	}
	// Z: zombie, X: dead (being reaped).
	return state != 'Z' && state != 'X', nil
}

// parseState returns the state letter of a /proc/<pid>/stat line, which
// reads "pid (comm) S ...". The command name may hold spaces and
// parentheses, so the state is found after the last ')'.
func parseState(stat string) (byte, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) || stat[i+1] != ' ' {
		return 0, fmt.Errorf("malformed stat line %q", stat)
	}
	return stat[i+2], nil
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat:
// 100 on every architecture Linux runs Go on (the kernel fixes it for
// user space whatever its internal HZ).
const clockTicks = 100

// CPUTime returns the CPU time process pid (0: this process) has used so
// far, user and system together (utime + stime of /proc/<pid>/stat), to
// the 10 ms its unit allows. The difference of two readings over an idle
// period is what the process costs while nothing happens.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(dir(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	ticks, err := parseCPUTicks(string(b))
	if err != nil {
		return 0, fmt.Errorf("%s/stat: %w", dir(pid), err)
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// parseCPUTicks returns utime + stime of a /proc/<pid>/stat line: the
// 14th and 15th fields, which are the 12th and 13th after the command
// name (whose parentheses may hold spaces, hence the last ')').
func parseCPUTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat line %q", stat)
	}
	fields := strings.Fields(stat[i+1:])
	// fields[0] is the state (field 3); utime is field 14, stime 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat line has %d fields after the command, want at least 13", len(fields))
	}
	var total int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("malformed CPU time %q in stat line", f)
		}
		total += n
	}
	return total, nil
}

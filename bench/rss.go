package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// readRSS returns the resident set size of process pid in bytes, from
// /proc/<pid>/status (Linux only).
func readRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := parseVmRSS(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return n, nil
}

// errNoVmRSS is returned for a status file without a VmRSS line, which is
// the case of kernel threads and zombies.
var errNoVmRSS = errors.New("no VmRSS line")

// parseVmRSS returns the VmRSS of a /proc/<pid>/status file in bytes. The
// kernel writes it as "VmRSS:	   12345 kB", where kB means KiB.
func parseVmRSS(r io.Reader) (int64, error) {
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
	return 0, errNoVmRSS
}

// MaybeBytes is a byte count that was asked for but may be unknown. With
// the omitzero option it is left out of JSON when not asked for, and it is
// null when asked for but not measured, so that a reader can tell "no
// --pid" from "could not read it".
type MaybeBytes struct {
	Asked bool
	Known bool
	Bytes int64
}

// IsZero reports whether the value was not asked for.
func (m MaybeBytes) IsZero() bool { return !m.Asked }

// MarshalJSON writes the byte count, or null if unknown.
func (m MaybeBytes) MarshalJSON() ([]byte, error) {
	if !m.Known {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, m.Bytes, 10), nil
}

// UnmarshalJSON reads a byte count or null.
func (m *MaybeBytes) UnmarshalJSON(b []byte) error {
	*m = MaybeBytes{Asked: true}
	if string(b) == "null" {
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("rss: %w", err)
	}
	m.Known, m.Bytes = true, n
	return nil
}

// String formats the value for the summary table.
func (m MaybeBytes) String() string {
	switch {
	case !m.Asked:
		return "-"
	case !m.Known:
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(m.Bytes)/(1<<20))
}

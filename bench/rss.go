package bench

import (
	"fmt"
	"strconv"

	"github.com/tributary-io/tributary/internal/procstat"
)

// readRSS returns the resident set size of process pid in bytes, from
// /proc/<pid>/status (Linux only).
func readRSS(pid int) (int64, error) { return procstat.RSS(pid) }

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

// Package cli holds the small pieces of terminal output that the bench
// tool and the tributary commands share.
package cli

import (
	"io"
	"os"
	"strconv"
)

// Thousands writes n with comma separators: 1,234,567.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// IsTerminal reports whether w is a terminal, where a progress line can
// be redrawn in place. golang.org/x/term is not a dependency; a character
// device is a good enough test for this purpose.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

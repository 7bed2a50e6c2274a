package bench

import (
	"encoding/json"
	"os"
	"testing"
)

func TestReadRSSOfSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	n, err := readRSS(os.Getpid())
	if err != nil {
		t.Fatalf("readRSS(self): %v", err)
	}
	if n <= 0 || n%1024 != 0 {
		t.Errorf("readRSS(self) = %d, want a positive multiple of 1024", n)
	}
}

func TestMaybeBytesJSON(t *testing.T) {
	tests := []struct {
		name string
		in   MaybeBytes
		want string // the encoding of the field; "" for left out
	}{
		{"not asked: left out", MaybeBytes{}, ""},
		{"asked, unknown: null", MaybeBytes{Asked: true}, "null"},
		{"known", MaybeBytes{Asked: true, Known: true, Bytes: 4096}, "4096"},
		{"known zero", MaybeBytes{Asked: true, Known: true}, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(WorkloadResult{RSSStartBytes: tt.in})
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(data, &fields); err != nil {
				t.Fatal(err)
			}
			if got := string(fields["rss_start_bytes"]); got != tt.want {
				t.Errorf("rss_start_bytes = %q, want %q (in %s)", got, tt.want, data)
			}
			var back WorkloadResult
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatalf("decoding %s: %v", data, err)
			}
			if back.RSSStartBytes != tt.in {
				t.Errorf("round trip = %+v, want %+v", back.RSSStartBytes, tt.in)
			}
		})
	}
}

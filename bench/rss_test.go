package bench

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
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
			got, err := parseVmRSS(strings.NewReader(tt.status))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseVmRSS error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseVmRSS = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseVmRSSMissingIsErrNoVmRSS(t *testing.T) {
	_, err := parseVmRSS(strings.NewReader("Name:\tx\n"))
	if !errors.Is(err, errNoVmRSS) {
		t.Errorf("error = %v, want errNoVmRSS", err)
	}
}

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

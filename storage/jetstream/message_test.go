package jetstream

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/tributary-io/tributary/storage"
)

func TestBatchRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		arrival int64
		batch   []storage.Record
	}{
		{"one record", 1700000000123, []storage.Record{{Key: "k", Data: []byte("v")}}},
		{"empty key and data", 0, []storage.Record{{}, {Key: "", Data: []byte{}}}},
		{"negative arrival", -5, []storage.Record{{Key: "a", Data: []byte("x")}, {Key: "b", Data: bytes.Repeat([]byte("y"), 300)}}},
	}
	for _, tc := range cases {
		d, err := decode("s", 7, encodeBatch(tc.arrival, 0, tc.batch))
		if err != nil {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
		if d.batch == nil || d.seq != 7 || d.batch.arrival != tc.arrival || len(d.batch.records) != len(tc.batch) {
			t.Fatalf("%s: decoded %+v", tc.name, d)
		}
		for i, r := range d.batch.records {
			if r.Key != tc.batch[i].Key || !bytes.Equal(r.Data, tc.batch[i].Data) {
				t.Errorf("%s: record %d = %q/%q, want %q/%q", tc.name, i, r.Key, r.Data, tc.batch[i].Key, tc.batch[i].Data)
			}
		}
	}
	for _, kind := range []byte{kindSeal, kindTombstone} {
		d, err := decode("s", 9, encodeMarker(kind, 12345, 678))
		if err != nil || d.marker == nil || d.marker.kind != kind || d.marker.lastPos != 12345 || d.marker.lastArrival != 678 {
			t.Errorf("marker %d decoded to %+v, %v", kind, d.marker, err)
		}
	}
}

// TestDecodeCorrupt: a body that does not parse is ErrCorrupt, never a
// panic or a short batch.
func TestDecodeCorrupt(t *testing.T) {
	good := encodeBatch(1, 0, []storage.Record{{Key: "key", Data: []byte("data")}, {Key: "k2", Data: []byte("d2")}})
	cases := []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"unknown kind", []byte{9, 0, 0}},
		{"batch header cut", good[:5]},
		{"zero records", append(append([]byte{}, good[:10]...), 0)},
		{"record cut", good[:len(good)-1]},
		{"bytes after the records", append(append([]byte{}, good...), 0)},
		{"length past the end", append(append([]byte{}, good[:11]...), 0xff, 0xff, 0x03)},
		{"marker cut", encodeMarker(kindSeal, 1, 1)[:16]},
	}
	for _, tc := range cases {
		if _, err := decode("trib.log.0.x", 3, tc.body); !errors.Is(err, storage.ErrCorrupt) {
			t.Errorf("%s: decode error %v, want ErrCorrupt", tc.name, err)
		}
	}
}

func TestPositions(t *testing.T) {
	cases := []struct {
		seq   uint64
		index int
		want  uint64
	}{
		{1, 0, 1 << 16},
		{1, 499, 1<<16 + 499},
		{2, 0, 2 << 16},
		{1<<47 - 1, maxBatch - 1, 1<<63 - 1},
	}
	for _, tc := range cases {
		p := position(tc.seq, tc.index)
		if p != tc.want || seqOf(p) != tc.seq {
			t.Errorf("position(%d, %d) = %d (sequence %d), want %d", tc.seq, tc.index, p, seqOf(p), tc.want)
		}
	}
}

func TestTailMark(t *testing.T) {
	for _, m := range []tailMark{{kindBatch, 1, 0}, {kindBatch, maxBatch, -7}, {kindSeal, 1 << 40, 1700000000000}, {kindTombstone, 0, 0}} {
		got, err := parseTailMark(m.String())
		if err != nil || got != m {
			t.Errorf("parseTailMark(%q) = %+v, %v; want %+v", m.String(), got, err, m)
		}
	}
	for _, bad := range []string{"", "1 2", "x 1 2", "0 1 2", "4 1 2", "1 0 5", "1 65537 5"} {
		if _, err := parseTailMark(bad); !errors.Is(err, storage.ErrCorrupt) {
			t.Errorf("parseTailMark(%q): %v, want ErrCorrupt", bad, err)
		}
	}
}

// TestJoinBatches: a joined body decodes to the records of its parts in
// order, and is never longer than the parts together (take's size bound
// relies on it).
func TestJoinBatches(t *testing.T) {
	rec := func(n, size int) []storage.Record {
		b := make([]storage.Record, n)
		for i := range b {
			b[i] = storage.Record{Key: fmt.Sprintf("k%d-%d", n, i), Data: bytes.Repeat([]byte{byte(n + i)}, size)}
		}
		return b
	}
	cases := []struct {
		name  string
		parts [][]storage.Record
	}{
		{"one", [][]storage.Record{rec(3, 10)}},
		{"two", [][]storage.Record{rec(1, 0), rec(2, 5)}},
		{"counts past one varint byte", [][]storage.Record{rec(100, 1), rec(100, 2), rec(1, 300)}},
	}
	for _, tc := range cases {
		var (
			bodies [][]byte
			want   []storage.Record
			total  int
		)
		for _, p := range tc.parts {
			b := encodeBatch(42, 0, p)
			bodies = append(bodies, b)
			want = append(want, p...)
			total += len(b)
		}
		body := joinBatches(bodies)
		if len(body) > total {
			t.Errorf("%s: joined body of %d bytes, the parts have %d", tc.name, len(body), total)
		}
		d, err := decode("s", 1, body)
		if err != nil {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
		if d.batch.arrival != 42 || len(d.batch.records) != len(want) {
			t.Fatalf("%s: decoded arrival %d, %d records; want 42, %d", tc.name, d.batch.arrival, len(d.batch.records), len(want))
		}
		for i, r := range d.batch.records {
			if r.Key != want[i].Key || !bytes.Equal(r.Data, want[i].Data) {
				t.Errorf("%s: record %d = %q/%q, want %q/%q", tc.name, i, r.Key, r.Data, want[i].Key, want[i].Data)
			}
		}
	}
}

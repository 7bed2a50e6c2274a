package kpl_test

import (
	"bytes"
	"crypto/md5"
	"errors"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tributary-io/tributary/kpl"
)

// FuzzDeaggregate feeds Deaggregate anything. body is framed with the magic
// and its own MD5 when frame is set, since random bytes would otherwise
// almost never get past the checksum to the protobuf decoder. Deaggregate
// must not panic, must agree with the generated protobuf code on every
// input (same records, or the same kind of error), and whatever it
// decodes must re-encode to an aggregate that decodes to the same records.
func FuzzDeaggregate(f *testing.F) {
	g := hexOrPanic(golden)
	f.Add(g, false)
	f.Add(g[4:len(g)-16], true)
	f.Add([]byte("plain record"), false)
	f.Add([]byte{}, true)
	for _, tt := range roundTrips[:len(roundTrips)-1] {
		agg := kpl.NewAggregator(math.MaxInt, 0)
		for _, r := range tt.records {
			if err := agg.Add(r); err != nil {
				f.Fatal(err)
			}
		}
		b := agg.Bytes()
		f.Add(b[4:len(b)-16], true)
	}
	f.Add(slices.Concat(bytesField(1, "a"), rec(varintField(1, 1), bytesField(3, "d"))), true)
	f.Add(slices.Concat(bytesField(1, "a"), rec(varintField(1, 0), varintField(2, 0), bytesField(3, "d"))), true)
	f.Add([]byte{0xab, 0x01, 0x08, 0x01, 0xac, 0x01}, true)

	f.Fuzz(func(t *testing.T, body []byte, frame bool) {
		data := body
		if frame {
			data = withMD5(body)
		}
		got, err := kpl.Deaggregate(data)
		want, wantErr := referenceDeaggregate(t, data)
		if wantErr != nil {
			if !errors.Is(err, wantErr) {
				t.Fatalf("Deaggregate = %d records, %v; the generated code says %v", len(got), err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Deaggregate: %v; the generated code reads %d records", err, len(want))
		}
		if diff := diffRecords(got, want); diff != "" {
			t.Fatalf("Deaggregate and the generated code differ: %s", diff)
		}

		if len(got) == 0 {
			return // an aggregate of nothing: Bytes has nothing to write
		}
		agg := kpl.NewAggregator(math.MaxInt, 0)
		for _, r := range got {
			if err := agg.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		again, err := kpl.Deaggregate(agg.Bytes())
		if err != nil {
			t.Fatalf("re-encoded: %v", err)
		}
		if diff := diffRecords(again, got); diff != "" {
			t.Fatalf("re-encoded: %s", diff)
		}
	})
}

// referenceDeaggregate is Deaggregate written with the generated code:
// the format's rules applied by protobuf's own parser.
func referenceDeaggregate(t testing.TB, data []byte) ([]kpl.Record, error) {
	if len(data) <= 20 || !bytes.HasPrefix(data, []byte{0xf3, 0x89, 0x9a, 0xc2}) {
		return []kpl.Record{{Data: data}}, nil
	}
	body := data[4 : len(data)-16]
	if sum := md5.Sum(body); !bytes.Equal(sum[:], data[len(data)-16:]) {
		return nil, kpl.ErrChecksum
	}
	var m kpl.AggregatedRecord
	if err := proto.Unmarshal(body, &m); err != nil {
		return nil, kpl.ErrProtobuf
	}
	for _, r := range m.Records {
		if r.GetPartitionKeyIndex() >= uint64(len(m.PartitionKeyTable)) {
			return nil, kpl.ErrPartitionKeyIndex
		}
		if r.ExplicitHashKeyIndex != nil && *r.ExplicitHashKeyIndex >= uint64(len(m.ExplicitHashKeyTable)) {
			return nil, kpl.ErrExplicitHashKeyIndex
		}
	}
	return fromPB(t, &m), nil
}

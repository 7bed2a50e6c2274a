package jetstream

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tributary-io/tributary/internal/datakey"
	"github.com/tributary-io/tributary/storage"
)

// FuzzDecode feeds message bodies to decode, and sealed ones to openBatch:
// never a panic; a batch decode takes has records that encode and decode
// again the same, a marker is 17 bytes; a sealed batch opens only with
// its own bytes (anything else is ErrDecrypt).
func FuzzDecode(f *testing.F) {
	keys := testKeyring(f)
	dk, err := datakey.New(context.Background(), keys, testKeyID)
	if err != nil {
		f.Fatal(err)
	}
	recs := []storage.Record{{Key: "k", Data: []byte("data")}, {Key: "", Data: nil}, {Key: "κλειδί", Data: bytes.Repeat([]byte{7}, 300)}}
	plain := encodeBatch(1234, 0, recs)
	sealed, err := sealBatch(plain, dk)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(plain)
	f.Add(sealed)
	f.Add(joinBatches([][]byte{plain, encodeBatch(0, 0, recs[:1])}))
	f.Add(encodeMarker(kindSeal, 99, 1234))
	f.Add(encodeMarker(kindTombstone, 0, 0))
	f.Add([]byte{kindBatch, 0, 0, 0, 0, 0, 0, 0, 0, flagEncrypted, 1, cryptVersion, 0, 0})
	e := &Engine{keys: keys}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := decode("s", 1, body)
		if err != nil {
			if !errors.Is(err, storage.ErrCorrupt) {
				t.Fatalf("decode error %v is not ErrCorrupt", err)
			}
			return
		}
		switch {
		case d.marker != nil:
			if len(body) != 17 {
				t.Fatalf("a marker of %d bytes", len(body))
			}
		case d.batch.encrypted:
			err := e.openBatch(context.Background(), "s", 1, d.batch)
			if err == nil {
				if len(d.batch.records) != d.batch.count {
					t.Fatalf("opened %d records of %d", len(d.batch.records), d.batch.count)
				}
				if !bytes.Equal(body[batchHeader:], sealed[batchHeader:]) {
					t.Fatalf("a sealed batch not sealed by this test opened: %x", body)
				}
			} else if !errors.Is(err, storage.ErrDecrypt) && !errors.Is(err, storage.ErrCorrupt) {
				t.Fatalf("openBatch error %v is neither ErrDecrypt nor ErrCorrupt", err)
			}
		default:
			// Lengths may be varints longer than needed, which decode
			// takes; what they say must survive encoding again.
			again, err := decode("s", 1, encodeBatch(d.batch.arrival, body[batchHeader-1], d.batch.records))
			if err != nil {
				t.Fatalf("decoded, encoded again, and that does not decode: %v", err)
			}
			if again.batch.arrival != d.batch.arrival || len(again.batch.records) != len(d.batch.records) {
				t.Fatalf("encoded again: arrival %d, %d records; want %d, %d", again.batch.arrival, len(again.batch.records), d.batch.arrival, len(d.batch.records))
			}
			for i, r := range again.batch.records {
				if r.Key != d.batch.records[i].Key || !bytes.Equal(r.Data, d.batch.records[i].Data) {
					t.Fatalf("record %d encoded again: %q %x, want %q %x", i, r.Key, r.Data, d.batch.records[i].Key, d.batch.records[i].Data)
				}
			}
		}
	})
}

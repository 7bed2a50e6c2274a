package kinesis

import (
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// cborBody encodes v with the CBOR library, as the Java SDK would send
// it (definite lengths, byte strings for blobs).
func cborBody(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFastPutRecordsCBORAgreesWithGeneric(t *testing.T) {
	sdk := map[string]any{"StreamName": "orders", "Records": []any{
		map[string]any{"Data": []byte("record 0"), "PartitionKey": "pk-0", "ExplicitHashKey": "170141183460469231731687303715884105728"},
		map[string]any{"Data": []byte{}, "PartitionKey": "ключ"},
		map[string]any{"PartitionKey": "no data"},
	}}
	entry := func(m map[string]any) map[string]any { return map[string]any{"StreamName": "s", "Records": []any{m}} }
	big := map[string]any{"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/s", "Records": make([]any, 500)}
	for i := range 500 {
		big["Records"].([]any)[i] = map[string]any{"Data": make([]byte, 300), "PartitionKey": "k"}
	}
	selfDescribed := append([]byte{0xd9, 0xd9, 0xf7}, cborBody(t, sdk)...)
	indefinite := []byte{0xbf, 0x6a, 'S', 't', 'r', 'e', 'a', 'm', 'N', 'a', 'm', 'e', 0x61, 's', 0xff}
	cases := []struct {
		name   string
		body   []byte
		wantOK bool // whether the fast path takes it
	}{
		{"sdk body", cborBody(t, sdk), true},
		{"500 records by ARN", cborBody(t, big), true},
		{"no records", cborBody(t, map[string]any{"StreamName": "s", "Records": []any{}}), true},
		{"data as text", cborBody(t, entry(map[string]any{"Data": "YQ==", "PartitionKey": "k"})), false},
		{"null key", cborBody(t, entry(map[string]any{"Data": []byte("a"), "PartitionKey": nil})), false},
		{"unknown member", cborBody(t, map[string]any{"StreamName": "s", "Records": []any{}, "Extra": 1}), false},
		{"dry run", cborBody(t, map[string]any{"StreamName": "s", "Records": []any{}, "DryRun": true}), false},
		{"number stream name", cborBody(t, map[string]any{"StreamName": 5, "Records": []any{}}), false},
		{"self-described tag", selfDescribed, false},
		{"indefinite map", indefinite, false},
		{"invalid utf-8", cborBody(t, map[string]any{"StreamName": string([]byte{0xff}), "Records": []any{}}), false},
		{"trailing byte", append(cborBody(t, sdk), 0x00), false},
		{"truncated", cborBody(t, sdk)[:20], false},
		{"501 records", cborBody(t, map[string]any{"StreamName": "s", "Records": make([]any, 501)}), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var fast PutRecordsInput
			ok := decodePutRecordsCBOR(c.body, &fast, nil)
			if ok != c.wantOK {
				t.Fatalf("fast path took it: %v, want %v", ok, c.wantOK)
			}
			if !ok {
				return
			}
			var generic PutRecordsInput
			if err := decodeGeneric(EncodingCBOR, c.body, &generic); err != nil {
				t.Fatalf("generic path refused what the fast path took: %v", err)
			}
			if !reflect.DeepEqual(fast, generic) {
				t.Fatalf("fast %+v\ngeneric %+v", fast, generic)
			}
		})
	}
}

// FuzzFastPutRecordsCBOR checks the CBOR fast path's promise: whatever it
// accepts, the generic decoder accepts too and decodes to the same value.
func FuzzFastPutRecordsCBOR(f *testing.F) {
	f.Add(cborBody(f, map[string]any{"StreamName": "orders", "Records": []any{
		map[string]any{"Data": []byte("record 0"), "PartitionKey": "pk-0", "ExplicitHashKey": "1"},
		map[string]any{"Data": []byte{}, "PartitionKey": "ключ"},
	}}))
	f.Add(cborBody(f, map[string]any{"StreamARN": "a", "Records": []any{map[string]any{"PartitionKey": "k"}}}))
	f.Add(cborBody(f, map[string]any{"Records": []any{}, "StreamName": "s", "DryRun": true}))
	dirty := cborBody(f, map[string]any{"StreamName": "dirty", "Records": []any{
		map[string]any{"Data": []byte("dirty data that must not show"), "PartitionKey": "dirty-key", "ExplicitHashKey": "7"},
	}})
	f.Fuzz(func(t *testing.T, body []byte) {
		// From the pools after another request, as FuzzFastPutRecords.
		soiled := &scratch{}
		decodePutRecordsCBOR(dirty, &PutRecordsInput{}, soiled)
		soiled.release()
		sc := &scratch{}
		defer sc.release()
		var fast PutRecordsInput
		if !decodePutRecordsCBOR(body, &fast, sc) {
			return
		}
		var generic PutRecordsInput
		if err := decodeGeneric(EncodingCBOR, body, &generic); err != nil {
			t.Fatalf("generic path refused what the fast path took: %v", err)
		}
		if !reflect.DeepEqual(fast, generic) {
			t.Fatalf("fast %+v\ngeneric %+v", fast, generic)
		}
	})
}

package kinesis

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// putRecordsBody builds a PutRecords body as the SDKs send it.
func putRecordsBody(n int) []byte {
	type entry struct {
		Data            string
		PartitionKey    string
		ExplicitHashKey string `json:",omitempty"`
	}
	entries := make([]entry, n)
	for i := range entries {
		entries[i] = entry{Data: base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("record %d", i))), PartitionKey: fmt.Sprintf("pk-%d", i)}
	}
	entries[0].ExplicitHashKey = "170141183460469231731687303715884105728"
	b, _ := json.Marshal(map[string]any{"StreamName": "orders", "Records": entries})
	return b
}

func TestFastPutRecordsAgreesWithGeneric(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		wantOK bool // whether the fast path takes it
	}{
		{"sdk body", string(putRecordsBody(3)), true},
		{"arn and spaces", ` { "StreamARN" : "arn:aws:kinesis:us-east-1:000000000000:stream/s" , "Records" : [ { "PartitionKey" : "k" , "Data" : "" } ] } `, true},
		{"utf-8 key", `{"StreamName":"s","Records":[{"Data":"YQ==","PartitionKey":"ключ"}]}`, true},
		{"escape", `{"StreamName":"s","Records":[{"Data":"YQ==","PartitionKey":"a\"b"}]}`, false},
		{"unknown member", `{"StreamName":"s","Records":[],"Extra":"x"}`, false},
		{"wrong case", `{"streamname":"s","Records":[]}`, false},
		{"null", `{"StreamName":null,"Records":[]}`, false},
		{"duplicate", `{"StreamName":"a","StreamName":"b","Records":[]}`, false},
		{"bad base64", `{"StreamName":"s","Records":[{"Data":"YQ=","PartitionKey":"k"}]}`, false},
		{"number", `{"StreamName":"s","Records":[{"Data":1,"PartitionKey":"k"}]}`, false},
		{"trailing", `{"StreamName":"s","Records":[]} x`, false},
		{"truncated", `{"StreamName":"s","Records":[{"Data":"YQ=="`, false},
		{"invalid utf-8", "{\"StreamName\":\"\xff\",\"Records\":[]}", false},
		// DryRun is left to the generic path; the fast one must never
		// take a dry run for a put.
		{"dry run", `{"StreamName":"s","Records":[{"Data":"YQ==","PartitionKey":"k"}],"DryRun":true}`, false},
		{"dry run false", `{"DryRun":false,"StreamName":"s","Records":[]}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var fast PutRecordsInput
			ok := decodePutRecordsJSON([]byte(c.body), &fast, nil)
			if ok != c.wantOK {
				t.Fatalf("fast path took it: %v, want %v", ok, c.wantOK)
			}
			if !ok {
				return
			}
			var generic PutRecordsInput
			if err := decodeGeneric(EncodingJSON, []byte(c.body), &generic); err != nil {
				t.Fatalf("generic path refused what the fast path took: %v", err)
			}
			if !reflect.DeepEqual(fast, generic) {
				t.Fatalf("fast %+v\ngeneric %+v", fast, generic)
			}
		})
	}
}

// FuzzFastPutRecords checks the fast path's promise: whatever it accepts,
// the generic decoder accepts too and decodes to the same value.
func FuzzFastPutRecords(f *testing.F) {
	f.Add(putRecordsBody(2))
	f.Add([]byte(`{"StreamARN":"a","Records":[{"PartitionKey":"k","Data":""}]}`))
	f.Add([]byte(`{"Records":[],"StreamName":"s"}`))
	f.Add([]byte(`{"Records":[],"StreamName":"s","DryRun":true}`))
	dirty := putRecordsBody(50)
	f.Fuzz(func(t *testing.T, body []byte) {
		// The buffers come from the pools, as in the server, after
		// another request used and gave them back: nothing of it may
		// show through.
		soiled := &scratch{}
		decodePutRecordsJSON(dirty, &PutRecordsInput{}, soiled)
		soiled.release()
		sc := &scratch{}
		defer sc.release()
		var fast PutRecordsInput
		if !decodePutRecordsJSON(body, &fast, sc) {
			return
		}
		var generic PutRecordsInput
		if err := decodeGeneric(EncodingJSON, body, &generic); err != nil {
			t.Fatalf("generic path refused %q: %v", body, err)
		}
		if !reflect.DeepEqual(fast, generic) {
			t.Fatalf("%q:\nfast %+v\ngeneric %+v", body, fast, generic)
		}
	})
}

// BenchmarkPutRecordsDecodePaths compares the fast path with the generic
// decoder on a 500-record SDK-style body.
func BenchmarkPutRecordsDecodePaths(b *testing.B) {
	body := putRecordsBody(500)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var in PutRecordsInput
			if !decodePutRecordsJSON(body, &in, nil) {
				b.Fatal("fast path declined")
			}
		}
	})
	b.Run("generic", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var in PutRecordsInput
			if err := decodeGeneric(EncodingJSON, body, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

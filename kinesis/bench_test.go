package kinesis

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// benchRecords is a GetRecords page of n small records, the hot path of
// every consumer.
func benchRecords(n int) *GetRecordsOutput {
	out := &GetRecordsOutput{NextShardIterator: ptr("AAAA"), MillisBehindLatest: ptr[int64](0)}
	at := TimestampOf(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	data := bytes.Repeat([]byte("x"), 100)
	for i := range n {
		out.Records = append(out.Records, Record{SequenceNumber: strings.Repeat("4", 56), ApproximateArrivalTimestamp: at,
			Data: data, PartitionKey: "partition-" + string(rune('a'+i%26))})
	}
	return out
}

func BenchmarkEncodeGetRecords(b *testing.B) {
	for _, ct := range []string{ContentTypeJSON, ContentTypeCBOR} {
		b.Run(ct, func(b *testing.B) {
			out := benchRecords(1000)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(ct, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodePutRecords encodes the answer of a PutRecords of 500
// records, the producer's hot path, into pooled buffers given back as the
// front end does.
func BenchmarkEncodePutRecords(b *testing.B) {
	for _, ct := range []string{ContentTypeJSON, ContentTypeCBOR} {
		b.Run(ct, func(b *testing.B) {
			out := putRecordsCases()["500 stored"]
			b.ReportAllocs()
			for b.Loop() {
				EncodeResponse(ct, out).Release()
			}
		})
	}
}

func BenchmarkDecodePutRecords(b *testing.B) {
	in := &PutRecordsInput{StreamName: ptr("s")}
	for range 500 {
		in.Records = append(in.Records, PutRecordsRequestEntry{Data: bytes.Repeat([]byte("x"), 100), PartitionKey: ptr("pk")})
	}
	for _, ct := range []string{ContentTypeJSON, ContentTypeCBOR} {
		body, err := Encode(ct, in)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(ct, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var got PutRecordsInput
				if err := DecodeRequest(&Request{ContentType: ct, Body: body}, &got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

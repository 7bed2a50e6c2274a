package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// cborCall sends one Kinesis operation as the AWS SDK for Java (and so the
// KCL) sends it by default: a CBOR body, the CBOR content type, and a SigV4
// Authorization header. It returns the status and the decoded body.
func cborCall(t *testing.T, endpoint, op string, body map[string]any) (int, map[string]any) {
	t.Helper()
	st, raw := cborCallRaw(t, endpoint, op, body)
	out := map[string]any{}
	if len(raw) > 0 {
		if err := cbor.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: response is not CBOR: %v (%x)", op, err, raw)
		}
	}
	return st, out
}

// cborCallRaw is cborCall returning the undecoded response body.
func cborCallRaw(t *testing.T, endpoint, op string, body map[string]any) (int, []byte) {
	t.Helper()
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := em.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/x-amz-cbor-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("X-Amz-Date", "20261122T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/kinesis/aws4_request, "+
		"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-cbor-1.1" {
		t.Fatalf("%s: content type %q, want CBOR", op, ct)
	}
	return resp.StatusCode, raw
}

// TestCBORLikeTheJavaSDK drives create, put, iterate (by time) and get in
// CBOR and checks the encodings the Java SDK expects back: blobs as byte
// strings and timestamps as tag 1 holding epoch milliseconds.
func TestCBORLikeTheJavaSDK(t *testing.T) {
	c, _ := startServer(t, t.TempDir())
	endpoint := *c.Options().BaseEndpoint
	ctx := context.Background()

	if st, out := cborCall(t, endpoint, "CreateStream", map[string]any{"StreamName": "cbor", "ShardCount": 1}); st != 200 {
		t.Fatalf("CreateStream: %d %v", st, out)
	}
	waitActive(t, ctx, c, "cbor")

	before := time.Now().Add(-time.Second)
	payload := []byte{0x00, 0xff, 0x10, 'k', 'c', 'l'}
	st, put := cborCall(t, endpoint, "PutRecord", map[string]any{"StreamName": "cbor", "PartitionKey": "pk", "Data": payload})
	if st != 200 || put["ShardId"] != "shardId-000000000000" || put["SequenceNumber"] == nil {
		t.Fatalf("PutRecord: %d %v", st, put)
	}

	// AT_TIMESTAMP with the timestamp as the Java SDK writes it.
	st, it := cborCall(t, endpoint, "GetShardIterator", map[string]any{
		"StreamName": "cbor", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
		"Timestamp": cbor.Tag{Number: 1, Content: before.UnixMilli()},
	})
	if st != 200 {
		t.Fatalf("GetShardIterator: %d %v", st, it)
	}
	// Decoded into a struct so the timestamp's tag and content are seen
	// as sent, not converted by the decoder.
	st, raw := cborCallRaw(t, endpoint, "GetRecords", map[string]any{"ShardIterator": it["ShardIterator"]})
	var got struct {
		Records []struct {
			Data                        any
			SequenceNumber              string
			PartitionKey                string
			ApproximateArrivalTimestamp cbor.RawTag
		}
	}
	if err := cbor.Unmarshal(raw, &got); st != 200 || err != nil {
		t.Fatalf("GetRecords: %d %v %x", st, err, raw)
	}
	if len(got.Records) != 1 {
		t.Fatalf("GetRecords returned %d records", len(got.Records))
	}
	rec := got.Records[0]
	if data, ok := rec.Data.([]byte); !ok || !bytes.Equal(data, payload) {
		t.Fatalf("Data is %T %v, want the byte string %x", rec.Data, rec.Data, payload)
	}
	if rec.SequenceNumber != put["SequenceNumber"] || rec.PartitionKey != "pk" {
		t.Fatalf("record %+v does not match the put %v", rec, put)
	}
	ts := rec.ApproximateArrivalTimestamp
	var ms uint64
	if ts.Number != 1 || cbor.Unmarshal(ts.Content, &ms) != nil {
		t.Fatalf("ApproximateArrivalTimestamp is tag %d holding %x, want tag 1 holding an integer", ts.Number, ts.Content)
	}
	if int64(ms) < before.UnixMilli() || int64(ms) > time.Now().UnixMilli() {
		t.Fatalf("ApproximateArrivalTimestamp holds %d, want epoch milliseconds near %d", ms, time.Now().UnixMilli())
	}

	// Errors come back in CBOR too, with AWS's type and message.
	st, e := cborCall(t, endpoint, "DescribeStream", map[string]any{"StreamName": "missing"})
	if st != 400 || e["__type"] != "ResourceNotFoundException" || e["message"] != "Stream missing under account "+testAccount+" not found." {
		t.Fatalf("DescribeStream of a missing stream: %d %v", st, e)
	}
}

package kinesis

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

func ptr[T any](v T) *T { return &v }

const testARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s"

func TestEncodingOf(t *testing.T) {
	tests := []struct {
		contentType string
		want        Encoding
		ok          bool
	}{
		{"application/x-amz-json-1.1", EncodingJSON, true},
		{"application/x-amz-cbor-1.1", EncodingCBOR, true},
		{"Application/X-Amz-Json-1.1; charset=utf-8", EncodingJSON, true},
		{" application/x-amz-cbor-1.1 ", EncodingCBOR, true},
		{"application/json", 0, false},
		{"application/x-amz-json-1.0", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		got, ok := EncodingOf(tc.contentType)
		if got != tc.want || ok != tc.ok {
			t.Errorf("EncodingOf(%q) = %v, %v; want %v, %v", tc.contentType, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	at := time.Date(2023, 11, 14, 22, 13, 20, 123_000_000, time.UTC)
	tests := []struct {
		name string
		body string
		into Input
		want Input
	}{
		{
			name: "put record with every member",
			body: `{"StreamName":"s","Data":"AAH/","PartitionKey":"k","ExplicitHashKey":"7","SequenceNumberForOrdering":"1",` +
				`"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s","StreamId":"id","DryRun":true}`,
			into: &PutRecordInput{},
			want: &PutRecordInput{StreamName: ptr("s"), Data: []byte{0, 1, 0xff}, PartitionKey: ptr("k"), ExplicitHashKey: ptr("7"),
				SequenceNumberForOrdering: ptr("1"), StreamARN: ptr("arn:aws:kinesis:us-east-1:123456789012:stream/s"),
				StreamID: ptr("id"), DryRun: ptr(true)},
		},
		{
			name: "unknown members are ignored and null is absent",
			body: `{"StreamName":null,"Data":"","Bogus":{"x":[1,2]},"partitionKey":"wrong case"}`,
			into: &PutRecordInput{},
			want: &PutRecordInput{Data: []byte{}},
		},
		{
			name: "timestamp in exponent form",
			body: `{"ShardId":"shardId-0","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1.700000000123E9}`,
			into: &GetShardIteratorInput{},
			want: &GetShardIteratorInput{ShardID: ptr("shardId-0"), ShardIteratorType: ptr("AT_TIMESTAMP"), Timestamp: TimestampOf(at)},
		},
		{
			name: "timestamp as integer seconds",
			body: `{"StreamCreationTimestamp":1700000000}`,
			into: &ListShardsInput{},
			want: &ListShardsInput{StreamCreationTimestamp: TimestampOf(at.Truncate(time.Second))},
		},
		{
			name: "integer written with a fraction of zero",
			body: `{"Limit":12.0,"ShardIterator":"i"}`,
			into: &GetRecordsInput{},
			want: &GetRecordsInput{Limit: ptr[int32](12), ShardIterator: ptr("i")},
		},
		{
			name: "integer written with an exponent",
			body: `{"ShardCount":2e1,"StreamName":"s"}`,
			into: &CreateStreamInput{},
			want: &CreateStreamInput{ShardCount: ptr[int32](20), StreamName: ptr("s")},
		},
		{
			name: "nested structures, maps and lists",
			body: `{"StreamName":"s","StreamModeDetails":{"StreamMode":"ON_DEMAND"},"Tags":{"a":"1","b":null}}`,
			into: &CreateStreamInput{},
			want: &CreateStreamInput{StreamName: ptr("s"), StreamModeDetails: &StreamModeDetails{StreamMode: ptr("ON_DEMAND")},
				Tags: map[string]string{"a": "1", "b": ""}},
		},
		{
			name: "list of structures",
			body: `{"Records":[{"Data":"YQ==","PartitionKey":"1"},null,{"Data":"","ExplicitHashKey":"0"}]}`,
			into: &PutRecordsInput{},
			want: &PutRecordsInput{Records: []PutRecordsRequestEntry{
				{Data: []byte("a"), PartitionKey: ptr("1")}, {}, {Data: []byte{}, ExplicitHashKey: ptr("0")}}},
		},
		{
			name: "empty object",
			body: ` { } `,
			into: &DescribeLimitsInput{},
			want: &DescribeLimitsInput{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Decode(ContentTypeJSON, []byte(tc.body), tc.into); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(tc.into, tc.want) {
				t.Errorf("got  %+v\nwant %+v", tc.into, tc.want)
			}
		})
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		into Input
		want string // message of the SerializationException
	}{
		{"empty body", ``, &ListStreamsInput{}, ""},
		{"not json", `{"StreamName":`, &ListStreamsInput{}, ""},
		{"trailing data", `{} {}`, &ListStreamsInput{}, ""},
		{"top-level array", `[]`, &ListStreamsInput{}, ""},
		{"top-level null", `null`, &ListStreamsInput{}, ""},
		{"string gets number", `{"StreamName":5}`, &DeleteStreamInput{},
			"class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"},
		{"string gets boolean", `{"StreamName":true}`, &DeleteStreamInput{}, "class java.lang.Boolean can not be converted to an String"},
		{"string gets list", `{"StreamName":[]}`, &DeleteStreamInput{}, "Start of list found where not expected"},
		{"string gets map", `{"StreamName":{}}`, &DeleteStreamInput{}, "Start of structure or map found where not expected."},
		{"boolean gets string", `{"EnforceConsumerDeletion":"yes"}`, &DeleteStreamInput{}, "'YES' can not be converted to an Boolean"},
		{"boolean gets number", `{"EnforceConsumerDeletion":1}`, &DeleteStreamInput{},
			"class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean"},
		{"integer gets string", `{"Limit":"5"}`, &ListStreamsInput{}, "class java.lang.String can not be converted to an Integer"},
		{"integer gets boolean", `{"Limit":false}`, &ListStreamsInput{}, "class java.lang.Boolean can not be converted to an Integer"},
		{"list gets string", `{"Records":"x"}`, &PutRecordsInput{}, "Expected list or null"},
		{"list gets map", `{"Records":{}}`, &PutRecordsInput{}, "Start of structure or map found where not expected."},
		{"structure gets string", `{"Records":["x"]}`, &PutRecordsInput{}, "Expected null"},
		{"structure gets list", `{"StreamModeDetails":[]}`, &CreateStreamInput{}, "Start of list found where not expected"},
		{"map gets list", `{"Tags":[]}`, &CreateStreamInput{}, "Start of list found where not expected"},
		{"map gets number", `{"Tags":1}`, &CreateStreamInput{}, "Expected map or null"},
		{"blob gets number", `{"Data":1}`, &PutRecordInput{},
			"class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob"},
		{"blob bad length", `{"Data":"abc"}`, &PutRecordInput{},
			"'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
		{"blob bad character", `{"Data":"ab*d"}`, &PutRecordInput{},
			"'ab*d' can not be converted to a Blob: Invalid Base64 character: '*'"},
		{"blob padding inside", `{"Data":"a=bc"}`, &PutRecordInput{},
			"'a=bc' can not be converted to a Blob: Invalid Base64 character: '='"},
		{"blob bad last character", `{"Data":"YR=="}`, &PutRecordInput{},
			"'YR==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"},
		{"timestamp gets string", `{"Timestamp":"2020-01-01T00:00:00Z"}`, &GetShardIteratorInput{},
			"class java.lang.String can not be converted to milliseconds since epoch"},
		{"timestamp gets boolean", `{"Timestamp":true}`, &GetShardIteratorInput{},
			"class java.lang.Boolean can not be converted to milliseconds since epoch"},
		{"timestamp out of range", `{"Timestamp":1e300}`, &GetShardIteratorInput{},
			"'1e300' can not be converted to milliseconds since epoch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Decode(ContentTypeJSON, []byte(tc.body), tc.into)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Type != ErrSerialization || err.Status != 400 || err.Message != tc.want {
				t.Errorf("got %s %d %q, want SerializationException 400 %q", err.Type, err.Status, err.Message, tc.want)
			}
		})
	}
}

// javaCBOR builds a request body the way the Java SDK's Jackson CBOR
// generator writes one: an indefinite-length map, definite-length text
// keys and values, blobs as byte strings, timestamps as tag 1 around
// integer epoch milliseconds.
func javaCBOR(t *testing.T, members ...any) []byte {
	t.Helper()
	buf := []byte{0xbf}
	for i := 0; i < len(members); i += 2 {
		k, err := cbor.Marshal(members[i])
		if err != nil {
			t.Fatal(err)
		}
		v, err := cbor.Marshal(members[i+1])
		if err != nil {
			t.Fatal(err)
		}
		buf = append(append(buf, k...), v...)
	}
	return append(buf, 0xff)
}

func TestDecodeCBOR(t *testing.T) {
	at := time.Date(2023, 11, 14, 22, 13, 20, 123_000_000, time.UTC)
	ms := at.UnixMilli()
	tests := []struct {
		name string
		body []byte
		into Input
		want Input
	}{
		{
			name: "put record with byte-string data",
			body: []byte("\xbf\x6aStreamName\x61s\x64Data\x43\x00\x01\xff\x6cPartitionKey\x61k\xff"),
			into: &PutRecordInput{},
			want: &PutRecordInput{StreamName: ptr("s"), Data: []byte{0, 1, 0xff}, PartitionKey: ptr("k")},
		},
		{
			name: "tag 1 with integer milliseconds",
			body: javaCBOR(t, "ShardId", "shardId-0", "ShardIteratorType", "AT_TIMESTAMP", "Timestamp", cbor.Tag{Number: 1, Content: ms}),
			into: &GetShardIteratorInput{},
			want: &GetShardIteratorInput{ShardID: ptr("shardId-0"), ShardIteratorType: ptr("AT_TIMESTAMP"), Timestamp: TimestampOf(at)},
		},
		{
			name: "tag 1 with float milliseconds",
			body: javaCBOR(t, "Timestamp", cbor.Tag{Number: 1, Content: float64(ms)}),
			into: &GetShardIteratorInput{},
			want: &GetShardIteratorInput{Timestamp: TimestampOf(at)},
		},
		{
			name: "untagged number is milliseconds",
			body: javaCBOR(t, "StreamCreationTimestamp", ms, "MaxResults", 100),
			into: &ListShardsInput{},
			want: &ListShardsInput{StreamCreationTimestamp: TimestampOf(at), MaxResults: ptr[int32](100)},
		},
		{
			name: "base64 text blob is accepted too",
			body: javaCBOR(t, "Records", []any{map[string]any{"Data": "YQ==", "PartitionKey": "p"}, map[string]any{"Data": []byte("b")}}),
			into: &PutRecordsInput{},
			want: &PutRecordsInput{Records: []PutRecordsRequestEntry{{Data: []byte("a"), PartitionKey: ptr("p")}, {Data: []byte("b")}}},
		},
		{
			name: "negative and boolean members",
			body: javaCBOR(t, "Limit", -3, "StreamName", "s", "EnforceConsumerDeletion", true),
			into: &DescribeStreamInput{},
			want: &DescribeStreamInput{Limit: ptr[int32](-3), StreamName: ptr("s")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Decode(ContentTypeCBOR, tc.body, tc.into); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(tc.into, tc.want) {
				t.Errorf("got  %+v\nwant %+v", tc.into, tc.want)
			}
		})
	}
}

func TestDecodeCBORErrors(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"empty body", nil, ""},
		{"truncated", []byte{0xbf, 0x6a, 'S'}, ""},
		{"not a map", []byte{0x83, 1, 2, 3}, ""},
		{"integer keys", []byte{0xa1, 0x01, 0x02}, ""},
		{"trailing bytes", []byte{0xa0, 0x00}, ""},
		{"invalid utf-8", []byte{0xa1, 0x6a, 'S', 't', 'r', 'e', 'a', 'm', 'N', 'a', 'm', 'e', 0x61, 0xff}, ""},
		{"string gets bytes", javaCBOR(t, "StreamName", []byte("s")), "class [B can not be converted to an String"},
		{"integer gets string", javaCBOR(t, "MaxResults", "1"), "class java.lang.String can not be converted to an Integer"},
		{"timestamp gets text", javaCBOR(t, "StreamCreationTimestamp", "x"), "class java.lang.String can not be converted to milliseconds since epoch"},
		{"unknown tag", javaCBOR(t, "StreamName", cbor.Tag{Number: 99, Content: "s"}), "class java.lang.Object can not be converted to an String"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in ListShardsInput
			assertSerialization(t, Decode(ContentTypeCBOR, tc.body, &in), tc.want)
		})
	}
}

func assertSerialization(t *testing.T, err *Error, want string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if err.Type != ErrSerialization || err.Message != want {
		t.Errorf("got %s %q, want SerializationException %q", err.Type, err.Message, want)
	}
}

func TestEncodeJSON(t *testing.T) {
	at := time.Date(2023, 11, 14, 22, 13, 20, 120_000_000, time.UTC)
	tests := []struct {
		name string
		out  any
		want string
	}{
		{"no output", nil, ``},
		{"nil pointer output", (*GetRecordsOutput)(nil), ``},
		{
			"records with blob and timestamp, absent optionals left out",
			&GetRecordsOutput{Records: []Record{{SequenceNumber: "1", ApproximateArrivalTimestamp: TimestampOf(at),
				Data: []byte("hi"), PartitionKey: "k"}}, MillisBehindLatest: ptr[int64](0)},
			`{"Records":[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1700000000.12,"Data":"aGk=","PartitionKey":"k"}],"MillisBehindLatest":0}`,
		},
		{
			"required list written as [] when nil",
			&GetRecordsOutput{NextShardIterator: ptr("it")},
			`{"Records":[],"NextShardIterator":"it"}`,
		},
		{
			"whole-second timestamp and escaping",
			&ListStreamsOutput{StreamNames: []string{"a\"b\\c\n\x01é"}, StreamSummaries: []StreamSummary{{StreamName: "a",
				StreamARN: "arn", StreamStatus: "ACTIVE", StreamCreationTimestamp: TimestampOf(at.Truncate(time.Second))}}},
			`{"StreamNames":["a\"b\\c\n\u0001é"],"HasMoreStreams":false,"StreamSummaries":[{"StreamName":"a","StreamARN":"arn",` +
				`"StreamStatus":"ACTIVE","StreamCreationTimestamp":1700000000}]}`,
		},
		{
			"optional pointer members present",
			&UpdateShardCountOutput{StreamName: ptr("s"), CurrentShardCount: ptr[int32](1), TargetShardCount: ptr[int32](-2)},
			`{"StreamName":"s","CurrentShardCount":1,"TargetShardCount":-2}`,
		},
		{
			"nested structures",
			&ListShardsOutput{Shards: []Shard{{ShardID: "shardId-0", ParentShardID: ptr("p"),
				HashKeyRange: HashKeyRange{StartingHashKey: "0", EndingHashKey: "9"}, SequenceNumberRange: SequenceNumberRange{StartingSequenceNumber: "5"}}}},
			`{"Shards":[{"ShardId":"shardId-0","ParentShardId":"p","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"9"},` +
				`"SequenceNumberRange":{"StartingSequenceNumber":"5"}}]}`,
		},
		{
			"timestamp before the epoch",
			&MinimumThroughputBillingCommitmentOutput{Status: "ENABLED", StartedAt: TimestampOf(time.UnixMilli(-1500))},
			`{"Status":"ENABLED","StartedAt":-1.5}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(ContentTypeJSON, tc.out)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestEncodeCBOR(t *testing.T) {
	at := time.Date(2023, 11, 14, 22, 13, 20, 123_000_000, time.UTC)
	out := &GetRecordsOutput{
		Records: []Record{{SequenceNumber: "1", ApproximateArrivalTimestamp: TimestampOf(at), Data: []byte{0, 0xff}, PartitionKey: "k",
			EncryptionType: ptr("NONE")}},
		NextShardIterator: ptr("it"), MillisBehindLatest: ptr[int64](-1),
	}
	body, err := Encode(ContentTypeCBOR, out)
	if err != nil {
		t.Fatal(err)
	}
	// Read it back as a Java client would see it: the timestamp must be
	// tag 1 around an integer of milliseconds.
	var got struct {
		Records []struct {
			SequenceNumber              string
			ApproximateArrivalTimestamp cbor.RawTag
			Data                        []byte
			PartitionKey                string
			EncryptionType              string
		}
		NextShardIterator  string
		MillisBehindLatest int64
	}
	if err := cbor.Unmarshal(body, &got); err != nil {
		t.Fatalf("unmarshal %x: %v", body, err)
	}
	if len(got.Records) != 1 || got.NextShardIterator != "it" || got.MillisBehindLatest != -1 {
		t.Fatalf("decoded %+v", got)
	}
	r := got.Records[0]
	if r.SequenceNumber != "1" || !bytes.Equal(r.Data, []byte{0, 0xff}) || r.PartitionKey != "k" || r.EncryptionType != "NONE" {
		t.Errorf("record %+v", r)
	}
	var millis uint64
	if err := cbor.Unmarshal(r.ApproximateArrivalTimestamp.Content, &millis); err != nil {
		t.Fatalf("timestamp content %x is not an integer: %v", []byte(r.ApproximateArrivalTimestamp.Content), err)
	}
	if r.ApproximateArrivalTimestamp.Number != 1 || millis != uint64(at.UnixMilli()) {
		t.Errorf("timestamp tag %d content %d, want tag 1 content %d", r.ApproximateArrivalTimestamp.Number, millis, at.UnixMilli())
	}

	// The whole encoding of a small shape, byte for byte.
	small, err := Encode(ContentTypeCBOR, &PutRecordOutput{ShardID: "s", SequenceNumber: "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "a2" + "67" + hex.EncodeToString([]byte("ShardId")) + "61" + hex.EncodeToString([]byte("s")) +
		"6e" + hex.EncodeToString([]byte("SequenceNumber")) + "61" + hex.EncodeToString([]byte("1"))
	if hex.EncodeToString(small) != want {
		t.Errorf("got %x, want %s", small, want)
	}
}

func TestCBORRoundTripThroughCodec(t *testing.T) {
	// A response encoded by this package and decoded again by it must
	// come back unchanged; the shapes are symmetric where members match.
	at := time.Date(2030, 1, 1, 0, 0, 0, 999_000_000, time.UTC)
	in := &ShardFilter{Type: ptr(ShardFilterAtTimestamp), ShardID: ptr("shardId-1"), Timestamp: TimestampOf(at)}
	for _, ct := range []string{ContentTypeJSON, ContentTypeCBOR} {
		body, err := Encode(ct, in)
		if err != nil {
			t.Fatal(err)
		}
		var got ShardFilter
		if derr := Decode(ct, body, &got); derr != nil {
			t.Fatalf("%s: %v", ct, derr)
		}
		if !reflect.DeepEqual(&got, in) {
			t.Errorf("%s: got %+v, want %+v", ct, got, in)
		}
	}
}

func TestEncodeResponse(t *testing.T) {
	tests := []struct {
		contentType     string
		out             any
		wantContentType string
		wantBody        string
	}{
		{ContentTypeJSON, &GetShardIteratorOutput{ShardIterator: ptr("x")}, ContentTypeJSON, `{"ShardIterator":"x"}`},
		{"application/x-amz-json-1.1; charset=utf-8", nil, ContentTypeJSON, ``},
		{ContentTypeCBOR, &GetShardIteratorOutput{}, ContentTypeCBOR, "\xa0"},
		{"text/plain", &GetShardIteratorOutput{}, ContentTypeJSON, `{}`},
	}
	for _, tc := range tests {
		resp := EncodeResponse(tc.contentType, tc.out)
		if resp.Status != 200 || resp.ContentType != tc.wantContentType || string(resp.Body) != tc.wantBody {
			t.Errorf("EncodeResponse(%q) = %d %q %q, want 200 %q %q", tc.contentType, resp.Status, resp.ContentType, resp.Body,
				tc.wantContentType, tc.wantBody)
		}
	}
	// A shape the encoder cannot handle is a bug; the client sees
	// InternalFailure, not a broken body.
	resp := EncodeResponse(ContentTypeJSON, &struct {
		F complex128 `json:"F"`
	}{})
	if resp.Status != 500 || string(resp.Body) != `{"__type":"InternalFailure"}` {
		t.Errorf("bad shape: %d %s", resp.Status, resp.Body)
	}
}

func TestDecodeRejectsNonPointer(t *testing.T) {
	var in ListStreamsInput
	if err := Decode(ContentTypeJSON, []byte(`{}`), in); err == nil || err.Type != ErrInternalFailure {
		t.Errorf("got %v, want InternalFailure", err)
	}
}

// TestCBORRequestResponse drives a request as the Java SDK sends it
// through decode, a handler and encode, and reads the answer as the Java
// SDK would.
func TestCBORRequestResponse(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 10_000_000, time.UTC)
	svc := &fakeService{t: t, reply: func(op string, in Input) (any, *Error) {
		gsi := in.(*GetShardIteratorInput)
		return &GetShardIteratorOutput{ShardIterator: ptr(gsi.Timestamp.UTC().Format(time.RFC3339Nano))}, nil
	}}
	body := javaCBOR(t, "StreamName", "s", "ShardId", "shardId-000000000000", "ShardIteratorType", "AT_TIMESTAMP",
		"Timestamp", cbor.Tag{Number: 1, Content: at.UnixMilli()})
	resp := svc.handle(&Request{Target: TargetPrefix + OpGetShardIterator, ContentType: ContentTypeCBOR, Body: body})
	if resp.Status != 200 || resp.ContentType != ContentTypeCBOR {
		t.Fatalf("got %d %q %x", resp.Status, resp.ContentType, resp.Body)
	}
	var out map[string]string
	if err := cbor.Unmarshal(resp.Body, &out); err != nil {
		t.Fatal(err)
	}
	if out["ShardIterator"] != "2024-05-06T07:08:09.01Z" {
		t.Errorf("handler saw timestamp %q", out["ShardIterator"])
	}

	// A validation failure comes back as a CBOR error map.
	bad := javaCBOR(t, "StreamName", "x y", "ShardId", "shardId-0", "ShardIteratorType", "LATEST")
	resp = svc.handle(&Request{Target: TargetPrefix + OpGetShardIterator, ContentType: ContentTypeCBOR, Body: bad})
	var errBody map[string]string
	if err := cbor.Unmarshal(resp.Body, &errBody); err != nil {
		t.Fatal(err)
	}
	wantMsg := "1 validation error detected: Value 'x y' at 'streamName' failed to satisfy constraint: " +
		"Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
	if resp.Status != 400 || resp.ContentType != ContentTypeCBOR || errBody["__type"] != ErrValidation || errBody["message"] != wantMsg {
		t.Errorf("got %d %q %v", resp.Status, resp.ContentType, errBody)
	}
}

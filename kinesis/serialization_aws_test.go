package kinesis

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// The answers AWS gives to a member of the wrong JSON type, as kinesalite
// captured them from the live service (test/helpers.js, assertType and
// assertSerialization): status 400 and the body
// {"__type":"SerializationException","Message":text}, "Message" with a
// capital M. awsTypeMismatches lists, per type of the model, each value
// kinesalite sends in place of the member and AWS's text for it.
var awsTypeMismatches = map[string][]struct {
	value string // JSON
	text  string
}{
	"Boolean": {
		{`"23"`, `'23' can not be converted to an Boolean`},
		{`23`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean`},
		{`-2147483648`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean`},
		{`2147483648`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean`},
		{`[]`, `Start of list found where not expected`},
		{`{}`, `Start of structure or map found where not expected.`},
	},
	"String": {
		{`true`, `class java.lang.Boolean can not be converted to an String`},
		{`23`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String`},
		{`-2147483648`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String`},
		{`2147483648`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String`},
		{`34.56`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String`},
		{`[]`, `Start of list found where not expected`},
		{`{}`, `Start of structure or map found where not expected.`},
	},
	"Integer": {
		{`"23"`, `class java.lang.String can not be converted to an Integer`},
		{`true`, `class java.lang.Boolean can not be converted to an Integer`},
		{`[]`, `Start of list found where not expected`},
		{`{}`, `Start of structure or map found where not expected.`},
	},
	"Blob": {
		{`true`, `class java.lang.Boolean can not be converted to a Blob`},
		{`23`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob`},
		{`-2147483648`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob`},
		{`2147483648`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob`},
		{`34.56`, `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob`},
		{`[]`, `Start of list found where not expected`},
		{`{}`, `Start of structure or map found where not expected.`},
		{`"23456"`, `'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 5`},
		{`"=+/="`, `'=+/=' can not be converted to a Blob: Invalid Base64 character: '='`},
		{`"+/+="`, `'+/+=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected`},
	},
	"Timestamp": {
		{`"23"`, `class java.lang.String can not be converted to milliseconds since epoch`},
		{`true`, `class java.lang.Boolean can not be converted to milliseconds since epoch`},
		{`[]`, `Start of list found where not expected`},
		{`{}`, `Start of structure or map found where not expected.`},
	},
	"List": {
		{`"23"`, `Expected list or null`},
		{`true`, `Expected list or null`},
		{`23`, `Expected list or null`},
		{`-2147483648`, `Expected list or null`},
		{`2147483648`, `Expected list or null`},
		{`34.56`, `Expected list or null`},
		{`{}`, `Start of structure or map found where not expected.`},
	},
	"Map": {
		{`"23"`, `Expected map or null`},
		{`true`, `Expected map or null`},
		{`23`, `Expected map or null`},
		{`-2147483648`, `Expected map or null`},
		{`2147483648`, `Expected map or null`},
		{`34.56`, `Expected map or null`},
		{`[]`, `Start of list found where not expected`},
	},
	"Structure": {
		{`"23"`, `Expected null`},
		{`true`, `Expected null`},
		{`23`, `Expected null`},
		{`-2147483648`, `Expected null`},
		{`2147483648`, `Expected null`},
		{`34.56`, `Expected null`},
		{`[]`, `Start of list found where not expected`},
	},
}

// awsTypedMembers is every assertType call in kinesalite's tests (the
// "serializations" block of each test/<operation>.js): the operation, the
// member's path as kinesalite writes it (a "0" steps into a list) and its
// type.
var awsTypedMembers = []struct {
	op, path, typ string
}{
	{OpAddTagsToStream, "Tags", "Map"},
	{OpAddTagsToStream, "Tags.a", "String"},
	{OpAddTagsToStream, "StreamName", "String"},
	{OpCreateStream, "StreamName", "String"},
	{OpCreateStream, "ShardCount", "Integer"},
	{OpDecreaseStreamRetentionPeriod, "StreamName", "String"},
	{OpDecreaseStreamRetentionPeriod, "RetentionPeriodHours", "Integer"},
	{OpDeleteStream, "StreamName", "String"},
	{OpDescribeStream, "StreamName", "String"},
	{OpDescribeStream, "Limit", "Integer"},
	{OpDescribeStream, "ExclusiveStartShardId", "String"},
	{OpDescribeStreamSummary, "StreamName", "String"},
	{OpGetRecords, "Limit", "Integer"},
	{OpGetRecords, "ShardIterator", "String"},
	{OpGetShardIterator, "ShardId", "String"},
	{OpGetShardIterator, "ShardIteratorType", "String"},
	{OpGetShardIterator, "StartingSequenceNumber", "String"},
	{OpGetShardIterator, "StreamName", "String"},
	{OpGetShardIterator, "Timestamp", "Timestamp"},
	{OpIncreaseStreamRetentionPeriod, "StreamName", "String"},
	{OpIncreaseStreamRetentionPeriod, "RetentionPeriodHours", "Integer"},
	{OpListShards, "StreamName", "String"},
	{OpListShards, "MaxResults", "Integer"},
	{OpListShards, "ExclusiveStartShardId", "String"},
	{OpListShards, "NextToken", "String"},
	{OpListShards, "StreamCreationTimestamp", "Timestamp"},
	{OpListStreams, "Limit", "Integer"},
	{OpListStreams, "ExclusiveStartStreamName", "String"},
	{OpListTagsForStream, "Limit", "Integer"},
	{OpListTagsForStream, "ExclusiveStartTagKey", "String"},
	{OpListTagsForStream, "StreamName", "String"},
	{OpMergeShards, "AdjacentShardToMerge", "String"},
	{OpMergeShards, "ShardToMerge", "String"},
	{OpMergeShards, "StreamName", "String"},
	{OpPutRecord, "Data", "Blob"},
	{OpPutRecord, "ExplicitHashKey", "String"},
	{OpPutRecord, "PartitionKey", "String"},
	{OpPutRecord, "SequenceNumberForOrdering", "String"},
	{OpPutRecord, "StreamName", "String"},
	{OpPutRecords, "Records", "List"},
	{OpPutRecords, "Records.0", "Structure"},
	{OpPutRecords, "Records.0.Data", "Blob"},
	{OpPutRecords, "Records.0.ExplicitHashKey", "String"},
	{OpPutRecords, "Records.0.PartitionKey", "String"},
	{OpPutRecords, "StreamName", "String"},
	{OpRemoveTagsFromStream, "TagKeys", "List"},
	{OpRemoveTagsFromStream, "TagKeys.0", "String"},
	{OpRemoveTagsFromStream, "StreamName", "String"},
	{OpSplitShard, "NewStartingHashKey", "String"},
	{OpSplitShard, "ShardToSplit", "String"},
	{OpSplitShard, "StreamName", "String"},
}

// nestAt builds the JSON body that holds value at path, as kinesalite's
// assertType does: {"Records":[{"Data":value}]} for "Records.0.Data".
func nestAt(path, value string) string {
	pieces := strings.Split(path, ".")
	var b strings.Builder
	var closers []string
	for _, p := range pieces {
		if p == "0" {
			b.WriteString("[")
			closers = append(closers, "]")
			continue
		}
		b.WriteString(`{"` + p + `":`)
		closers = append(closers, "}")
	}
	b.WriteString(value)
	for i := len(closers) - 1; i >= 0; i-- {
		b.WriteString(closers[i])
	}
	return b.String()
}

// TestSerializationExceptionAWS sends every mistyped member kinesalite
// tried against AWS and compares the whole answer, status, type and body
// bytes, with AWS's.
func TestSerializationExceptionAWS(t *testing.T) {
	n := 0
	for _, m := range awsTypedMembers {
		cases, ok := awsTypeMismatches[m.typ]
		if !ok {
			t.Fatalf("no captured answers for type %s", m.typ)
		}
		for _, c := range cases {
			n++
			body := nestAt(m.path, c.value)
			t.Run(m.op+"/"+m.path+"="+c.value, func(t *testing.T) {
				in, _ := NewInput(m.op)
				err := DecodeRequest(&Request{ContentType: ContentTypeJSON, Body: []byte(body)}, in)
				if err == nil {
					t.Fatalf("%s accepted", body)
				}
				resp := ErrorResponse(ContentTypeJSON, err)
				want := `{"__type":"SerializationException","Message":` + jsonText(t, c.text) + `}`
				if resp.Status != 400 || resp.ContentType != ContentTypeJSON || string(resp.Body) != want {
					t.Errorf("%s: got %d %s %s\nwant 400 %s %s", body, resp.Status, resp.ContentType, resp.Body, ContentTypeJSON, want)
				}
			})
		}
	}
	if n < 300 {
		t.Errorf("only %d cases; the table lost some", n)
	}
}

// jsonText is s as a JSON string, escaped as this package's encoder
// escapes it (quotes, backslashes and control characters only).
func jsonText(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// TestErrorMessageMember pins the one place "Message" is capitalised, in
// both encodings: AWS writes "Message" in SerializationException and
// "message" in every other error body (kinesalite's test/helpers.js:
// assertSerialization against assertValidation, assertInUse and the rest).
func TestErrorMessageMember(t *testing.T) {
	tests := []struct {
		err      *Error
		wantJSON string
		wantCBOR string
	}{
		{SerializationError("Expected null"), `{"__type":"SerializationException","Message":"Expected null"}`,
			"\xa2f__typevSerializationExceptiongMessagemExpected null"},
		{ValidationError("1 validation error detected: x"), `{"__type":"ValidationException","message":"1 validation error detected: x"}`,
			"\xa2f__typesValidationExceptiongmessagex\x1e1 validation error detected: x"},
		{ResourceInUse("in use"), `{"__type":"ResourceInUseException","message":"in use"}`,
			"\xa2f__typevResourceInUseExceptiongmessagefin use"},
		// A body that is not JSON at all: no message member at all.
		{SerializationError(""), `{"__type":"SerializationException"}`, "\xa1f__typevSerializationException"},
	}
	for _, tc := range tests {
		if got := ErrorResponse(ContentTypeJSON, tc.err); string(got.Body) != tc.wantJSON || got.Status != 400 {
			t.Errorf("JSON: got %d %s, want 400 %s", got.Status, got.Body, tc.wantJSON)
		}
		if got := ErrorResponse(ContentTypeCBOR, tc.err); string(got.Body) != tc.wantCBOR || got.Status != 400 {
			t.Errorf("CBOR: got %d %s, want 400 %s", got.Status, strconv.Quote(string(got.Body)), strconv.Quote(tc.wantCBOR))
		}
	}
}

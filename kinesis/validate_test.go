package kinesis

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
)

func TestValidationMessages(t *testing.T) {
	long := strings.Repeat("a", 129)
	twelveEmpty := "[" + strings.TrimSuffix(strings.Repeat(`{"PartitionKey":"p"},`, 12), ",") + "]"
	var tenNulls []string
	for i := 1; i <= 10; i++ {
		tenNulls = append(tenNulls, "Value null at 'records."+strconv.Itoa(i)+".member.data' failed to satisfy constraint: Member must not be null")
	}
	tests := []struct {
		name string
		op   string
		body string
		want string
	}{
		{"pattern", OpDescribeStreamSummary, `{"StreamName":"x y"}`,
			"1 validation error detected: Value 'x y' at 'streamName' failed to satisfy constraint: " +
				"Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{"required list", OpPutRecords, `{}`,
			"1 validation error detected: Value null at 'records' failed to satisfy constraint: Member must not be null"},
		// Captured from AWS in kinesalite's tests.
		{"empty list and empty name", OpPutRecords, `{"StreamName":"","Records":[]}`,
			"3 validation errors detected: " +
				"Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"too long", OpPutRecords, `{"StreamName":"` + long + `","Records":[{"PartitionKey":"a","Data":""}]}`,
			"1 validation error detected: Value '" + long + "' at 'streamName' failed to satisfy constraint: " +
				"Member must have length less than or equal to 128"},
		// A value of hostile length is repeated only in part.
		{"huge value", OpDescribeStreamSummary, `{"StreamName":"` + strings.Repeat("a", 100_000) + `"}`,
			"1 validation error detected: Value '" + strings.Repeat("a", maxEcho) + "... (100000 bytes)' at 'streamName' failed to satisfy constraint: " +
				"Member must have length less than or equal to 128"},
		{"required members", OpGetShardIterator, `{}`,
			"2 validation errors detected: " +
				"Value null at 'shardId' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'shardIteratorType' failed to satisfy constraint: Member must not be null"},
		{"every string constraint", OpGetShardIterator, `{"StreamName":"","ShardIteratorType":"","ShardId":"","StartingSequenceNumber":""}`,
			"6 validation errors detected: " +
				"Value '' at 'shardId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'shardId' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'shardIteratorType' failed to satisfy constraint: " +
				"Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]; " +
				"Value '' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128}); " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"list members", OpPutRecords,
			`{"Records":[{"PartitionKey":"p"},{"Data":"","PartitionKey":"` + strings.Repeat("k", 257) + `","ExplicitHashKey":"01"}]}`,
			"3 validation errors detected: " +
				"Value null at 'records.1.member.data' failed to satisfy constraint: Member must not be null; " +
				"Value '01' at 'records.2.member.explicitHashKey' failed to satisfy constraint: " +
				"Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38}); " +
				"Value '" + strings.Repeat("k", 257) + "' at 'records.2.member.partitionKey' failed to satisfy constraint: " +
				"Member must have length less than or equal to 256"},
		{"at most ten", OpPutRecords, `{"Records":` + twelveEmpty + `}`,
			"10 validation errors detected: " + strings.Join(tenNulls, "; ")},
		{"too many records", OpPutRecords, `{"Records":[` + strings.TrimSuffix(strings.Repeat(`{"Data":"","PartitionKey":"k"},`, 501), ",") + `]}`,
			"1 validation error detected: Value '[" + strings.TrimSuffix(strings.Repeat(
				"com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@2, ", 501), ", ") +
				"]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500"},
		{"integer minimum", OpGetRecords, `{"ShardIterator":"i","Limit":0}`,
			"1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"integer maximum", OpGetRecords, `{"ShardIterator":"i","Limit":10001}`,
			"1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"},
		{"partition key required", OpPutRecord, `{"StreamName":"s","Data":""}`,
			"1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: Member must not be null"},
		{"partition key required in every entry", OpPutRecords, `{"StreamName":"s","Records":[{"Data":"","PartitionKey":"k"},{"Data":""}]}`,
			"1 validation error detected: Value null at 'records.2.member.partitionKey' failed to satisfy constraint: Member must not be null"},
		{"utf-16 length", OpPutRecord, `{"Data":"","PartitionKey":"` + strings.Repeat("😀", 129) + `"}`,
			"1 validation error detected: Value '" + strings.Repeat("😀", 129) + "' at 'partitionKey' failed to satisfy constraint: " +
				"Member must have length less than or equal to 256"},
		{"empty tag map", OpAddTagsToStream, `{"StreamName":"s","Tags":{}}`,
			"1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"tag key and value lengths", OpAddTagsToStream, `{"Tags":{"":"v","k":"` + strings.Repeat("v", 257) + `"}}`,
			"2 validation errors detected: " +
				"Value '{=v, k=" + strings.Repeat("v", 257) + "}' at 'tags' failed to satisfy constraint: " +
				"Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]; " +
				"Value '{=v, k=" + strings.Repeat("v", 257) + "}' at 'tags' failed to satisfy constraint: " +
				"Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0]"},
		{"tag key list", OpRemoveTagsFromStream, `{"StreamName":"s","TagKeys":["a",""]}`,
			"1 validation error detected: Value '[a, ]' at 'tagKeys' failed to satisfy constraint: " +
				"Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]"},
		{"enum list", OpEnableEnhancedMonitoring, `{"StreamName":"s","ShardLevelMetrics":["Bogus"]}`,
			"1 validation error detected: Value '[Bogus]' at 'shardLevelMetrics' failed to satisfy constraint: " +
				"Member must satisfy constraint: [Member must satisfy enum value set: [IncomingBytes, IncomingRecords, OutgoingBytes, " +
				"OutgoingRecords, WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds, ALL]]"},
		{"nested required structure", OpUpdateStreamMode, `{}`,
			"2 validation errors detected: " +
				"Value null at 'streamARN' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'streamModeDetails' failed to satisfy constraint: Member must not be null"},
		{"nested member", OpUpdateStreamMode, `{"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s","StreamModeDetails":{}}`,
			"1 validation error detected: Value null at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must not be null"},
		{"arn pattern", OpListStreamConsumers, `{"StreamARN":"arn:aws:kinesis:us-east-1:1234:stream/s"}`,
			"1 validation error detected: Value 'arn:aws:kinesis:us-east-1:1234:stream/s' at 'streamARN' failed to satisfy constraint: " +
				"Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+"},
		{"max record size", OpUpdateMaxRecordSize, `{"MaxRecordSizeInKiB":100}`,
			"1 validation error detected: Value '100' at 'maxRecordSizeInKiB' failed to satisfy constraint: " +
				"Member must have value greater than or equal to 1024"},
		{"shard filter", OpListShards, `{"ShardFilter":{"ShardId":"x y"}}`,
			"2 validation errors detected: " +
				"Value 'x y' at 'shardFilter.shardId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value null at 'shardFilter.type' failed to satisfy constraint: Member must not be null"},
		{"account settings", OpUpdateAccountSettings, `{"MinimumThroughputBillingCommitment":{"Status":"ENABLED_UNTIL_EARLIEST_ALLOWED_END"}}`,
			"1 validation error detected: Value 'ENABLED_UNTIL_EARLIEST_ALLOWED_END' at 'minimumThroughputBillingCommitment.status' " +
				"failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, ok := NewInput(tc.op)
			if !ok {
				t.Fatalf("no input for %s", tc.op)
			}
			err := DecodeRequest(&Request{ContentType: ContentTypeJSON, Body: []byte(tc.body)}, in)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Type != ErrValidation || err.Status != 400 || err.Message != tc.want {
				t.Errorf("got %s %d\n%q\nwant\n%q", err.Type, err.Status, err.Message, tc.want)
			}
		})
	}
}

// TestValidInputsPass decodes a minimal valid request for every
// operation; none may be rejected.
func TestEchoCutsBetweenCharacters(t *testing.T) {
	s := "a" + strings.Repeat("é", maxEcho) // é is 2 bytes: byte maxEcho is inside one
	got := echo(s)
	want := "a" + strings.Repeat("é", maxEcho/2-1) + "... (" + strconv.Itoa(len(s)) + " bytes)"
	if got != want {
		t.Fatalf("echo cut %d bytes to %d bytes, want %d", len(s), len(got), len(want))
	}
	if short := "short"; echo(short) != short {
		t.Fatalf("echo(%q) = %q", short, echo(short))
	}
}

func TestValidInputsPass(t *testing.T) {
	arn := `"arn:aws:kinesis:us-east-1:123456789012:stream/s"`
	consumerARN := `"arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1700000000"`
	bodies := map[string]string{
		OpAddTagsToStream:                        `{"StreamName":"s","Tags":{"k":""}}`,
		OpCreateStream:                           `{"StreamName":"s","ShardCount":1,"MaxRecordSizeInKiB":10240,"WarmThroughputMiBps":0}`,
		OpDecreaseStreamRetentionPeriod:          `{"StreamName":"s","RetentionPeriodHours":24}`,
		OpDeleteResourcePolicy:                   `{"ResourceARN":` + consumerARN + `}`,
		OpDeleteStream:                           `{"StreamARN":` + arn + `,"EnforceConsumerDeletion":true}`,
		OpDeregisterStreamConsumer:               `{"ConsumerARN":` + consumerARN + `}`,
		OpDescribeAccountSettings:                `{}`,
		OpDescribeLimits:                         `{}`,
		OpDescribeStream:                         `{"StreamName":"s","Limit":10000,"ExclusiveStartShardId":"shardId-000000000000"}`,
		OpDescribeStreamConsumer:                 `{"StreamARN":` + arn + `,"ConsumerName":"c"}`,
		OpDescribeStreamSummary:                  `{"StreamName":"s.-_9"}`,
		OpDisableEnhancedMonitoring:              `{"StreamName":"s","ShardLevelMetrics":["ALL"]}`,
		OpEnableEnhancedMonitoring:               `{"StreamName":"s","ShardLevelMetrics":["IncomingBytes","IteratorAgeMilliseconds"]}`,
		OpGetRecords:                             `{"ShardIterator":"AAAA","Limit":1}`,
		OpGetResourcePolicy:                      `{"ResourceARN":` + arn + `}`,
		OpGetShardIterator:                       `{"StreamName":"s","ShardId":"0","ShardIteratorType":"AFTER_SEQUENCE_NUMBER","StartingSequenceNumber":"49590338271490256608559692538361571095921575989136588898"}`,
		OpIncreaseStreamRetentionPeriod:          `{"StreamName":"s","RetentionPeriodHours":8760}`,
		OpListShards:                             `{"NextToken":"t","MaxResults":1000,"ShardFilter":{"Type":"AT_LATEST"}}`,
		OpListStreamConsumers:                    `{"StreamARN":` + arn + `,"MaxResults":100}`,
		OpListStreams:                            `{"Limit":100,"ExclusiveStartStreamName":"a"}`,
		OpListTagsForResource:                    `{"ResourceARN":` + arn + `}`,
		OpListTagsForStream:                      `{"StreamName":"s","Limit":50,"ExclusiveStartTagKey":"k"}`,
		OpMergeShards:                            `{"StreamName":"s","ShardToMerge":"shardId-0","AdjacentShardToMerge":"shardId-1"}`,
		OpPutRecord:                              `{"StreamName":"s","Data":"","PartitionKey":"k","ExplicitHashKey":"340282366920938463463374607431768211455"}`,
		OpPutRecords:                             `{"StreamName":"s","Records":[{"Data":"YQ==","PartitionKey":"k"}]}`,
		OpPutResourcePolicy:                      `{"ResourceARN":` + arn + `,"Policy":"{}"}`,
		OpRegisterStreamConsumer:                 `{"StreamARN":` + arn + `,"ConsumerName":"c"}`,
		OpRemoveTagsFromStream:                   `{"StreamName":"s","TagKeys":["k"]}`,
		OpSplitShard:                             `{"StreamName":"s","ShardToSplit":"shardId-0","NewStartingHashKey":"0"}`,
		OpStartStreamEncryption:                  `{"StreamName":"s","EncryptionType":"KMS","KeyId":"alias/aws/kinesis"}`,
		OpStopStreamEncryption:                   `{"StreamName":"s","EncryptionType":"KMS","KeyId":"alias/aws/kinesis"}`,
		OpSubscribeToShard:                       `{"ConsumerARN":` + consumerARN + `,"ShardId":"shardId-0","StartingPosition":{"Type":"LATEST"}}`,
		OpTagResource:                            `{"ResourceARN":` + arn + `,"Tags":{"k":"v"}}`,
		OpUntagResource:                          `{"ResourceARN":` + arn + `,"TagKeys":["k"]}`,
		OpUpdateAccountSettings:                  `{"MinimumThroughputBillingCommitment":{"Status":"DISABLED"}}`,
		OpUpdateMaxRecordSize:                    `{"StreamARN":` + arn + `,"MaxRecordSizeInKiB":1024}`,
		OpUpdateShardCount:                       `{"StreamName":"s","TargetShardCount":2,"ScalingType":"UNIFORM_SCALING"}`,
		OpUpdateStreamMode:                       `{"StreamARN":` + arn + `,"StreamModeDetails":{"StreamMode":"ON_DEMAND"}}`,
		OpUpdateStreamRecordDistributionStrategy: `{"StreamARN":` + arn + `,"RecordDistributionStrategy":"AUTO"}`,
		OpUpdateStreamWarmThroughput:             `{"StreamName":"s","WarmThroughputMiBps":100}`,
	}
	for _, op := range Operations() {
		t.Run(op, func(t *testing.T) {
			body, ok := bodies[op]
			if !ok {
				t.Fatalf("no valid body for %s", op)
			}
			in, _ := NewInput(op)
			if err := DecodeRequest(&Request{ContentType: ContentTypeJSON, Body: []byte(body)}, in); err != nil {
				t.Errorf("%s: %v", body, err)
			}
		})
	}
}

func TestOperationOf(t *testing.T) {
	tests := []struct {
		target string
		op     string
		ok     bool
	}{
		{"Kinesis_20131202.PutRecord", OpPutRecord, true},
		{"Kinesis_20131202.UpdateMaxRecordSize", OpUpdateMaxRecordSize, true},
		{"Kinesis_20131202.putRecord", "putRecord", false},
		{"Kinesis_20131202.CreateChannel", "CreateChannel", false},
		{"DynamoDB_20120810.PutItem", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		op, ok := OperationOf(tc.target)
		if op != tc.op || ok != tc.ok {
			t.Errorf("OperationOf(%q) = %q, %v; want %q, %v", tc.target, op, ok, tc.op, tc.ok)
		}
	}
	if _, ok := NewInput("Nope"); ok {
		t.Error("NewInput accepted an unknown operation")
	}
}

// TestValidationCurrentModel pins constraints of the current model that
// no captured answer covers, in the wording of those that do: Data's
// maximum of 10485760 bytes, reported with the request's other violations
// rather than after them, and StreamId's pattern and length.
func TestValidationCurrentModel(t *testing.T) {
	big := base64.StdEncoding.EncodeToString(make([]byte, maxDataLen+1))
	fits := base64.StdEncoding.EncodeToString(make([]byte, maxDataLen))
	bigValue := "'java.nio.HeapByteBuffer[pos=0 lim=10485761 cap=10485761]'"
	tests := []struct {
		name string
		op   string
		body string
		want string // "" when valid
	}{
		{"data over the model's maximum, with the other violations", OpPutRecord,
			`{"StreamName":"","PartitionKey":"k","Data":"` + big + `"}`,
			"3 validation errors detected: " +
				"Value " + bigValue + " at 'data' failed to satisfy constraint: Member must have length less than or equal to 10485760; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"data at the model's maximum", OpPutRecord, `{"StreamName":"s","PartitionKey":"k","Data":"` + fits + `"}`, ""},
		{"entry data over the model's maximum", OpPutRecords,
			`{"StreamName":"s","Records":[{"PartitionKey":"k","Data":""},{"PartitionKey":"","Data":"` + big + `"}]}`,
			"2 validation errors detected: " +
				"Value " + bigValue + " at 'records.2.member.data' failed to satisfy constraint: Member must have length less than or equal to 10485760; " +
				"Value '' at 'records.2.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"stream id of the model's form", OpDescribeStreamSummary, `{"StreamName":"s","StreamId":"abcdefghij0123456789-a1b"}`, ""},
		{"stream id of another form", OpDescribeStreamSummary, `{"StreamName":"s","StreamId":"id"}`,
			"1 validation error detected: Value 'id' at 'streamId' failed to satisfy constraint: " +
				"Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}"},
		{"empty stream id", OpGetRecords, `{"ShardIterator":"i","StreamId":""}`,
			"2 validation errors detected: " +
				"Value '' at 'streamId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}; " +
				"Value '' at 'streamId' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"long stream id", OpTagResource,
			`{"ResourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s","Tags":{"a":"b"},"StreamId":"abcdefghij0123456789-a1b2"}`,
			"2 validation errors detected: " +
				"Value 'abcdefghij0123456789-a1b2' at 'streamId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}; " +
				"Value 'abcdefghij0123456789-a1b2' at 'streamId' failed to satisfy constraint: Member must have length less than or equal to 24"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := NewInput(tc.op)
			err := DecodeRequest(&Request{ContentType: ContentTypeJSON, Body: []byte(tc.body)}, in)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case tc.want != "" && (err == nil || err.Type != ErrValidation || err.Message != tc.want):
				t.Fatalf("got %v\nwant ValidationException: %s", err, tc.want)
			}
		})
	}
}

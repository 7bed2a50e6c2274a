package kinesis

import (
	"strconv"
	"strings"
)

// PutRecordsInput is the input of PutRecords.
type PutRecordsInput struct {
	Records    []PutRecordsRequestEntry `json:"Records,omitempty"`
	StreamName *string                  `json:"StreamName,omitempty"`
	StreamARN  *string                  `json:"StreamARN,omitempty"`
	StreamID   *string                  `json:"StreamId,omitempty"`
	DryRun     *bool                    `json:"DryRun,omitempty"`
}

// PutRecordsRequestEntry is one record of a PutRecords request. A nil
// Data means the member was absent; an empty record is a non-nil empty
// slice.
type PutRecordsRequestEntry struct {
	Data            []byte  `json:"Data,omitempty"`
	ExplicitHashKey *string `json:"ExplicitHashKey,omitempty"`
	PartitionKey    *string `json:"PartitionKey,omitempty"`
}

// PutRecordsOutput is the output of PutRecords.
type PutRecordsOutput struct {
	FailedRecordCount *int32                  `json:"FailedRecordCount,omitempty"`
	Records           []PutRecordsResultEntry `json:"Records"`
	EncryptionType    *string                 `json:"EncryptionType,omitempty"`
}

// PutRecordsResultEntry is the result for one record: SequenceNumber and
// ShardId on success, ErrorCode and ErrorMessage on failure.
type PutRecordsResultEntry struct {
	SequenceNumber *string `json:"SequenceNumber,omitempty"`
	ShardID        *string `json:"ShardId,omitempty"`
	ErrorCode      *string `json:"ErrorCode,omitempty"`
	ErrorMessage   *string `json:"ErrorMessage,omitempty"`
}

// Validate checks the input against the service model, Data up to the
// model's 10 MiB; a stream's own, possibly lower, maximum record size is
// package stream's to check, which knows the stream.
func (in *PutRecordsInput) Validate() *Error {
	var v validator
	if in.Records == nil {
		v.null("records")
	} else {
		if n := len(in.Records); n < minRecords || n > maxRecords {
			items := make([]string, n)
			for i := range items {
				// The service prints each entry with Java's default
				// toString; the hash part is not reproducible.
				items[i] = putRecordsEntryClass + "@2"
			}
			val := quoted("[" + strings.Join(items, ", ") + "]")
			if n < minRecords {
				v.fail(val, "records", "Member must have length greater than or equal to "+strconv.Itoa(minRecords))
			} else {
				v.fail(val, "records", "Member must have length less than or equal to "+strconv.Itoa(maxRecords))
			}
		}
		for i := range in.Records {
			r := &in.Records[i]
			// Nearly every entry passes: it is checked first against no
			// path, which costs no allocation, and its path (a few) is
			// built only for an entry with something to report.
			var probe validator
			probe.checkPutRecordsEntry("", r)
			if len(probe.msgs) > 0 {
				v.checkPutRecordsEntry("records."+strconv.Itoa(i+1)+".member.", r)
			}
		}
	}
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}

// checkPutRecordsEntry checks one entry, its members' paths under path.
func (v *validator) checkPutRecordsEntry(path string, r *PutRecordsRequestEntry) {
	v.checkData(path+"data", r.Data, true)
	v.checkString(path+"explicitHashKey", r.ExplicitHashKey, false, &shapeHashKey)
	v.checkString(path+"partitionKey", r.PartitionKey, partitionKeyRequired, &shapePartitionKey)
}

package kinesis

import (
	"encoding/base64"
	"strconv"
)

// appendGetRecordsJSON is the JSON encoding of a GetRecords answer written
// without reflection: consumers draining a shard get pages of up to 10,000
// records, and the generic encoder spends most of its time walking struct
// fields. It writes exactly the bytes the generic encoder writes, using the
// same primitives (FuzzFastGetRecords and TestFastGetRecordsMatchesGeneric
// hold it to that), and declines, returning false, for what it does not
// cover: ChildShards, which only the last page of a closed shard carries.
func appendGetRecordsJSON(dst []byte, out *GetRecordsOutput) ([]byte, bool) {
	if len(out.ChildShards) > 0 {
		return dst, false
	}
	dst = append(dst, `{"Records":[`...)
	for i := range out.Records {
		r := &out.Records[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"SequenceNumber":`...)
		dst = appendJSONString(dst, r.SequenceNumber)
		if r.ApproximateArrivalTimestamp != nil {
			dst = append(dst, `,"ApproximateArrivalTimestamp":`...)
			dst = appendEpochSeconds(dst, r.ApproximateArrivalTimestamp.UnixMilli())
		}
		dst = append(dst, `,"Data":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Data)
		dst = append(dst, `","PartitionKey":`...)
		dst = appendJSONString(dst, r.PartitionKey)
		if r.EncryptionType != nil {
			dst = append(dst, `,"EncryptionType":`...)
			dst = appendJSONString(dst, *r.EncryptionType)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if out.NextShardIterator != nil {
		dst = append(dst, `,"NextShardIterator":`...)
		dst = appendJSONString(dst, *out.NextShardIterator)
	}
	if out.MillisBehindLatest != nil {
		dst = append(dst, `,"MillisBehindLatest":`...)
		dst = strconv.AppendInt(dst, *out.MillisBehindLatest, 10)
	}
	return append(dst, '}'), true
}

// getRecordsJSONSize estimates the encoded size of out closely enough that
// the buffer is allocated once: member names and punctuation, the base64
// of the data, and the strings (escapes aside).
func getRecordsJSONSize(out *GetRecordsOutput) int {
	n := 128
	if out.NextShardIterator != nil {
		n += len(*out.NextShardIterator)
	}
	for i := range out.Records {
		r := &out.Records[i]
		n += 110 + len(r.SequenceNumber) + base64.StdEncoding.EncodedLen(len(r.Data)) + len(r.PartitionKey)
	}
	return n
}

// appendGetRecordsCBOR is appendGetRecordsJSON for CBOR, the encoding of
// the Java SDK and the KCL. It drives the generic encoder's own CBOR
// emitter, member by member in the generic encoder's order, so the bytes
// are the same by construction (FuzzFastGetRecords checks it); only the
// reflection is gone.
func appendGetRecordsCBOR(dst []byte, out *GetRecordsOutput) ([]byte, bool) {
	if len(out.ChildShards) > 0 {
		return nil, false
	}
	e := &cborEmitter{buf: dst}
	members := 1
	if out.NextShardIterator != nil {
		members++
	}
	if out.MillisBehindLatest != nil {
		members++
	}
	e.beginObject(members)
	e.key("Records")
	e.beginArray(len(out.Records))
	for i := range out.Records {
		r := &out.Records[i]
		n := 3 // SequenceNumber, Data and PartitionKey are always written
		if r.ApproximateArrivalTimestamp != nil {
			n++
		}
		if r.EncryptionType != nil {
			n++
		}
		e.beginObject(n)
		e.key("SequenceNumber")
		e.str(r.SequenceNumber)
		if r.ApproximateArrivalTimestamp != nil {
			e.key("ApproximateArrivalTimestamp")
			e.timestamp(r.ApproximateArrivalTimestamp.Time)
		}
		e.key("Data")
		e.blob(r.Data)
		e.key("PartitionKey")
		e.str(r.PartitionKey)
		if r.EncryptionType != nil {
			e.key("EncryptionType")
			e.str(*r.EncryptionType)
		}
	}
	if out.NextShardIterator != nil {
		e.key("NextShardIterator")
		e.str(*out.NextShardIterator)
	}
	if out.MillisBehindLatest != nil {
		e.key("MillisBehindLatest")
		e.integer(*out.MillisBehindLatest)
	}
	return e.buf, true
}

// appendPutRecordsJSON is the JSON encoding of a PutRecords answer
// without reflection: one entry per record of every ingest call, which
// the generic encoder spent a fifth of the ingest path's CPU on (struct
// tags read per field per entry). It writes exactly the generic encoder's
// bytes (TestFastPutRecordsMatchesGeneric, FuzzFastPutRecords) and
// declines, returning false, for a nil Records, which the generic encoder
// writes as it writes any nil list.
func appendPutRecordsJSON(dst []byte, out *PutRecordsOutput) ([]byte, bool) {
	if out.Records == nil {
		return dst, false
	}
	dst = append(dst, '{')
	if out.FailedRecordCount != nil {
		dst = append(dst, `"FailedRecordCount":`...)
		dst = strconv.AppendInt(dst, int64(*out.FailedRecordCount), 10)
		dst = append(dst, ',')
	}
	dst = append(dst, `"Records":[`...)
	for i := range out.Records {
		r := &out.Records[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		comma := false
		for _, m := range [...]struct {
			key string
			v   *string
		}{
			{`"SequenceNumber":`, r.SequenceNumber},
			{`"ShardId":`, r.ShardID},
			{`"ErrorCode":`, r.ErrorCode},
			{`"ErrorMessage":`, r.ErrorMessage},
		} {
			if m.v == nil {
				continue
			}
			if comma {
				dst = append(dst, ',')
			}
			dst = append(dst, m.key...)
			dst = appendJSONString(dst, *m.v)
			comma = true
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if out.EncryptionType != nil {
		dst = append(dst, `,"EncryptionType":`...)
		dst = appendJSONString(dst, *out.EncryptionType)
	}
	return append(dst, '}'), true
}

// putRecordsJSONSize estimates the encoded size of out, so that the
// buffer is allocated once.
func putRecordsJSONSize(out *PutRecordsOutput) int {
	n := 64
	for i := range out.Records {
		r := &out.Records[i]
		n += 16
		for _, v := range [...]*string{r.SequenceNumber, r.ShardID, r.ErrorCode, r.ErrorMessage} {
			if v != nil {
				n += 20 + len(*v)
			}
		}
	}
	return n
}

// appendPutRecordsCBOR is appendPutRecordsJSON for CBOR, driving the
// generic encoder's own CBOR emitter member by member in its order, as
// appendGetRecordsCBOR does.
func appendPutRecordsCBOR(dst []byte, out *PutRecordsOutput) ([]byte, bool) {
	if out.Records == nil {
		return nil, false
	}
	e := &cborEmitter{buf: dst}
	members := 1
	if out.FailedRecordCount != nil {
		members++
	}
	if out.EncryptionType != nil {
		members++
	}
	e.beginObject(members)
	if out.FailedRecordCount != nil {
		e.key("FailedRecordCount")
		e.integer(int64(*out.FailedRecordCount))
	}
	e.key("Records")
	e.beginArray(len(out.Records))
	for i := range out.Records {
		r := &out.Records[i]
		fields := [...]struct {
			key string
			v   *string
		}{
			{"SequenceNumber", r.SequenceNumber},
			{"ShardId", r.ShardID},
			{"ErrorCode", r.ErrorCode},
			{"ErrorMessage", r.ErrorMessage},
		}
		n := 0
		for _, f := range fields {
			if f.v != nil {
				n++
			}
		}
		e.beginObject(n)
		for _, f := range fields {
			if f.v != nil {
				e.key(f.key)
				e.str(*f.v)
			}
		}
	}
	if out.EncryptionType != nil {
		e.key("EncryptionType")
		e.str(*out.EncryptionType)
	}
	return e.buf, true
}

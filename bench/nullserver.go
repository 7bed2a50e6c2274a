package bench

import (
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NullServer is the yardstick of bench/compare.sh: the least a Kinesis
// endpoint can do for the bench's workloads, written with nothing but the
// standard library, as a newcomer would write it in an afternoon. It
// decodes requests with encoding/json, routes records by the MD5 of their
// partition key as Kinesis does, keeps them in memory (so that drain has
// something to read) and answers with encoding/json. It validates almost
// nothing, stores nothing durably and applies no limits.
//
// Tributary's own stack is measured against it twice: with durable
// storage (the product) and with --storage discard (the protocol stack
// alone). What a server built for the job should reach is this rate with
// its records on disk.
//
// It serves only what the ingest, drain, latency and shards workloads
// call: CreateStream, DescribeStreamSummary, ListShards, DeleteStream,
// PutRecord, PutRecords, GetShardIterator and GetRecords. Anything else
// gets UnknownOperationException: among them the consumer registration
// and SubscribeToShard of the latency workload's second path, whose
// event-stream framing is more than a yardstick needs.
type NullServer struct {
	mu      sync.Mutex
	streams map[string]*nullStream
}

type nullStream struct {
	shards []*nullShard
}

// nullShard keeps its records in arenas without pointers, so that the
// garbage collector does not scan millions of records: the bytes of keys
// and data in chunks that are never copied once written (a growing slice
// would copy gigabytes over a long ingest), and one fixed-size entry per
// record.
type nullShard struct {
	mu      sync.Mutex
	lo      *big.Int // the hash range's first key
	hi      *big.Int // and last
	chunks  [][]byte
	records []nullRecord
}

const nullChunk = 4 << 20

type nullRecord struct {
	chunk, off, keyLen, dataLen int32
	arrival                     int64 // Unix milliseconds
}

// add stores a record; sh.mu is held.
func (sh *nullShard) add(key string, data []byte, arrival int64) {
	n := len(key) + len(data)
	last := len(sh.chunks) - 1
	if last < 0 || cap(sh.chunks[last])-len(sh.chunks[last]) < n {
		sh.chunks = append(sh.chunks, make([]byte, 0, max(n, nullChunk)))
		last++
	}
	c := sh.chunks[last]
	sh.records = append(sh.records, nullRecord{chunk: int32(last), off: int32(len(c)), keyLen: int32(len(key)), dataLen: int32(len(data)), arrival: arrival})
	sh.chunks[last] = append(append(c, key...), data...)
}

// record returns the key and data of record i; sh.mu is held. The slices
// stay valid after the lock is released: bytes once written in a chunk
// never change.
func (sh *nullShard) record(i int) (key, data []byte) {
	r := sh.records[i]
	c := sh.chunks[r.chunk][r.off : r.off+r.keyLen+r.dataLen]
	return c[:r.keyLen], c[r.keyLen:]
}

// NewNullServer returns an empty null server.
func NewNullServer() *NullServer {
	return &NullServer{streams: make(map[string]*nullStream)}
}

// nullError is the body of an error answer.
type nullError struct {
	Type    string `json:"__type"`
	Message string `json:"message,omitempty"`
}

func (s *NullServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202.")
	body, err := io.ReadAll(r.Body)
	if !ok || err != nil {
		nullReply(w, http.StatusBadRequest, nullError{Type: "UnknownOperationException"})
		return
	}
	var (
		out    any
		errOut *nullError
	)
	switch op {
	case "CreateStream":
		out, errOut = nullCall(body, s.createStream)
	case "DescribeStreamSummary":
		out, errOut = nullCall(body, s.describeStreamSummary)
	case "ListShards":
		out, errOut = nullCall(body, s.listShards)
	case "DeleteStream":
		out, errOut = nullCall(body, s.deleteStream)
	case "PutRecord":
		out, errOut = nullCall(body, s.putRecord)
	case "PutRecords":
		out, errOut = nullCall(body, s.putRecords)
	case "GetShardIterator":
		out, errOut = nullCall(body, s.getShardIterator)
	case "GetRecords":
		out, errOut = nullCall(body, s.getRecords)
	default:
		errOut = &nullError{Type: "UnknownOperationException"}
	}
	if errOut != nil {
		nullReply(w, http.StatusBadRequest, errOut)
		return
	}
	nullReply(w, http.StatusOK, out)
}

// nullCall decodes body into In and calls op.
func nullCall[In, Out any](body []byte, op func(*In) (*Out, *nullError)) (any, *nullError) {
	in := new(In)
	if err := json.Unmarshal(body, in); err != nil {
		return nil, &nullError{Type: "SerializationException", Message: err.Error()}
	}
	out, errOut := op(in)
	return out, errOut
}

func nullReply(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"__type":"InternalFailure"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	w.Write(b)
}

var errNullNotFound = &nullError{Type: "ResourceNotFoundException", Message: "Stream not found"}

func (s *NullServer) stream(name string) *nullStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[name]
}

// shard finds a shard by its id, shardId-000000000007.
func (st *nullStream) shard(id string) *nullShard {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "shardId-"))
	if err != nil || n < 0 || n >= len(st.shards) {
		return nil
	}
	return st.shards[n]
}

func nullShardID(i int) string { return fmt.Sprintf("shardId-%012d", i) }

type nullStreamName struct{ StreamName string }

func (s *NullServer) createStream(in *struct {
	StreamName string
	ShardCount int
}) (*struct{}, *nullError) {
	if in.ShardCount < 1 {
		in.ShardCount = 4
	}
	// Even hash ranges over the 128-bit key space, as CreateStream makes.
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	width := new(big.Int).Div(space, big.NewInt(int64(in.ShardCount)))
	st := &nullStream{}
	for i := range in.ShardCount {
		lo := new(big.Int).Mul(width, big.NewInt(int64(i)))
		hi := new(big.Int).Sub(new(big.Int).Add(lo, width), big.NewInt(1))
		if i == in.ShardCount-1 {
			hi.Sub(space, big.NewInt(1))
		}
		st.shards = append(st.shards, &nullShard{lo: lo, hi: hi})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.streams[in.StreamName]; ok {
		return nil, &nullError{Type: "ResourceInUseException", Message: "Stream exists"}
	}
	s.streams[in.StreamName] = st
	return &struct{}{}, nil
}

func (s *NullServer) deleteStream(in *nullStreamName) (*struct{}, *nullError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.streams[in.StreamName]; !ok {
		return nil, errNullNotFound
	}
	delete(s.streams, in.StreamName)
	return &struct{}{}, nil
}

type nullSummary struct {
	StreamDescriptionSummary struct {
		StreamName, StreamARN, StreamStatus string
		OpenShardCount                      int
	}
}

func (s *NullServer) describeStreamSummary(in *nullStreamName) (*nullSummary, *nullError) {
	st := s.stream(in.StreamName)
	if st == nil {
		return nil, errNullNotFound
	}
	out := &nullSummary{}
	out.StreamDescriptionSummary.StreamName = in.StreamName
	out.StreamDescriptionSummary.StreamARN = "arn:aws:kinesis:us-east-1:000000000000:stream/" + in.StreamName
	out.StreamDescriptionSummary.StreamStatus = "ACTIVE"
	out.StreamDescriptionSummary.OpenShardCount = len(st.shards)
	return out, nil
}

type nullShardOut struct {
	ShardId      string
	HashKeyRange struct{ StartingHashKey, EndingHashKey string }
	// AWS's answer also has SequenceNumberRange; the bench does not read it.
}

func (s *NullServer) listShards(in *nullStreamName) (*struct{ Shards []nullShardOut }, *nullError) {
	st := s.stream(in.StreamName)
	if st == nil {
		return nil, errNullNotFound
	}
	out := &struct{ Shards []nullShardOut }{}
	for i, sh := range st.shards {
		o := nullShardOut{ShardId: nullShardID(i)}
		o.HashKeyRange.StartingHashKey = sh.lo.String()
		o.HashKeyRange.EndingHashKey = sh.hi.String()
		out.Shards = append(out.Shards, o)
	}
	return out, nil
}

type nullEntry struct {
	Data            []byte // base64 in JSON, as Kinesis sends it
	PartitionKey    string
	ExplicitHashKey string
}

type nullPutResult struct {
	ShardId, SequenceNumber string
}

// put stores one record and returns where it went.
func (st *nullStream) put(e *nullEntry, now time.Time) (nullPutResult, *nullError) {
	var key *big.Int
	if e.ExplicitHashKey != "" {
		k, ok := new(big.Int).SetString(e.ExplicitHashKey, 10)
		if !ok {
			return nullPutResult{}, &nullError{Type: "InvalidArgumentException", Message: "bad ExplicitHashKey"}
		}
		key = k
	} else {
		sum := md5.Sum([]byte(e.PartitionKey))
		key = new(big.Int).SetBytes(sum[:])
	}
	for i, sh := range st.shards {
		if key.Cmp(sh.lo) >= 0 && key.Cmp(sh.hi) <= 0 {
			sh.mu.Lock()
			seq := len(sh.records)
			sh.add(e.PartitionKey, e.Data, now.UnixMilli())
			sh.mu.Unlock()
			return nullPutResult{ShardId: nullShardID(i), SequenceNumber: nullSequence(i, seq)}, nil
		}
	}
	return nullPutResult{}, &nullError{Type: "InvalidArgumentException", Message: "hash key out of range"}
}

// nullSequence makes a sequence number as long as Kinesis's (56 digits),
// so that answers weigh what AWS's do: shard and index, zero-padded.
func nullSequence(shard, index int) string {
	return fmt.Sprintf("49%027d%027d", shard, index)
}

func nullIndex(seq string) (int, bool) {
	if len(seq) != 56 {
		return 0, false
	}
	n, err := strconv.Atoi(seq[29:])
	return n, err == nil && n >= 0
}

func (s *NullServer) putRecord(in *struct {
	nullEntry
	StreamName string
}) (*nullPutResult, *nullError) {
	st := s.stream(in.StreamName)
	if st == nil {
		return nil, errNullNotFound
	}
	out, errOut := st.put(&in.nullEntry, time.Now())
	return &out, errOut
}

func (s *NullServer) putRecords(in *struct {
	StreamName string
	Records    []nullEntry
}) (*struct {
	FailedRecordCount int
	Records           []nullPutResult
}, *nullError) {
	st := s.stream(in.StreamName)
	if st == nil {
		return nil, errNullNotFound
	}
	out := &struct {
		FailedRecordCount int
		Records           []nullPutResult
	}{Records: make([]nullPutResult, len(in.Records))}
	now := time.Now()
	for i := range in.Records {
		r, errOut := st.put(&in.Records[i], now)
		if errOut != nil {
			return nil, errOut
		}
		out.Records[i] = r
	}
	return out, nil
}

// A null iterator is the stream, the shard and the index of the next
// record, separated by slashes: "name/7/1234".
func nullIterator(stream string, shard, index int) string {
	return stream + "/" + strconv.Itoa(shard) + "/" + strconv.Itoa(index)
}

func (s *NullServer) getShardIterator(in *struct {
	StreamName, ShardId, ShardIteratorType, StartingSequenceNumber string
}) (*struct{ ShardIterator string }, *nullError) {
	st := s.stream(in.StreamName)
	if st == nil {
		return nil, errNullNotFound
	}
	sh := st.shard(in.ShardId)
	if sh == nil {
		return nil, &nullError{Type: "ResourceNotFoundException", Message: "Shard not found"}
	}
	shard, _ := strconv.Atoi(strings.TrimPrefix(in.ShardId, "shardId-"))
	index := 0
	switch in.ShardIteratorType {
	case "TRIM_HORIZON":
	case "LATEST":
		sh.mu.Lock()
		index = len(sh.records)
		sh.mu.Unlock()
	case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
		n, ok := nullIndex(in.StartingSequenceNumber)
		if !ok {
			return nil, &nullError{Type: "InvalidArgumentException", Message: "bad StartingSequenceNumber"}
		}
		index = n
		if in.ShardIteratorType == "AFTER_SEQUENCE_NUMBER" {
			index++
		}
	default:
		return nil, &nullError{Type: "InvalidArgumentException", Message: "unsupported ShardIteratorType"}
	}
	return &struct{ ShardIterator string }{nullIterator(in.StreamName, shard, index)}, nil
}

type nullRecordOut struct {
	SequenceNumber              string
	ApproximateArrivalTimestamp float64 // seconds, as JSON 1.1 sends timestamps
	Data                        []byte
	PartitionKey                string
}

type nullGetRecordsOut struct {
	Records            []nullRecordOut
	NextShardIterator  string
	MillisBehindLatest int64
}

func (s *NullServer) getRecords(in *struct {
	ShardIterator string
	Limit         int
}) (*nullGetRecordsOut, *nullError) {
	badIterator := &nullError{Type: "InvalidArgumentException", Message: "bad ShardIterator"}
	parts := strings.Split(in.ShardIterator, "/")
	if len(parts) != 3 {
		return nil, badIterator
	}
	shard, err1 := strconv.Atoi(parts[1])
	index, err2 := strconv.Atoi(parts[2])
	st := s.stream(parts[0])
	if err1 != nil || err2 != nil || st == nil || shard < 0 || shard >= len(st.shards) || index < 0 {
		return nil, badIterator
	}
	if in.Limit <= 0 || in.Limit > 10000 {
		in.Limit = 10000
	}
	sh := st.shards[shard]
	out := &nullGetRecordsOut{}
	sh.mu.Lock()
	end := min(index+in.Limit, len(sh.records))
	for i := index; i < end; i++ {
		key, data := sh.record(i)
		out.Records = append(out.Records, nullRecordOut{
			SequenceNumber:              nullSequence(shard, i),
			ApproximateArrivalTimestamp: float64(sh.records[i].arrival) / 1000,
			PartitionKey:                string(key),
			Data:                        data,
		})
	}
	if end < len(sh.records) {
		out.MillisBehindLatest = time.Now().UnixMilli() - sh.records[end].arrival
	}
	sh.mu.Unlock()
	out.NextShardIterator = nullIterator(parts[0], shard, max(end, index))
	if out.Records == nil {
		out.Records = []nullRecordOut{}
	}
	return out, nil
}

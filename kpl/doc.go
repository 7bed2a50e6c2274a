// Package kpl writes and reads the aggregated-record format of AWS's
// Kinesis Producer Library (KPL): many user records packed into the Data
// of one Kinesis record, which AWS's consumer library (KCL) and
// de-aggregation libraries unpack again. Tributary's producer, its
// consumer library and its server share this package; it imports nothing
// of Tributary.
//
// # The format
//
// Data of an aggregated Kinesis record is
//
//	0xF3 0x89 0x9A 0xC2 | AggregatedRecord (protobuf, proto2) | MD5 of the protobuf bytes (16)
//
// where AggregatedRecord (aggregated.proto) holds a table of partition
// keys, a table of explicit hash keys, and the records, each naming its
// keys by their index in the tables and carrying its data and optional
// tags (a key and an optional value). Keys shared by several records are
// stored once. The facts come from aggregation-format.md and messages.proto
// in awslabs/amazon-kinesis-producer; the code here is Tributary's own.
//
// # Writing
//
// An [Aggregator] packs [Record]s up to a size limit as Kinesis counts it
// (the record's Data plus the partition key it is put with), so that a
// producer can fill records to 1 MiB, or to a stream's larger maximum:
//
//	agg := kpl.NewAggregator(kpl.DefaultMaxRecordSize, len(outerKey))
//	for _, r := range records {
//		if err := agg.Add(r); errors.Is(err, kpl.ErrFull) {
//			send(outerKey, agg.Bytes()); agg.Reset(); err = agg.Add(r)
//		}
//		// errors.Is(err, kpl.ErrTooLarge): r cannot be aggregated at that limit
//	}
//
// Every record of one aggregate must hash into the shard the aggregate is
// put to: KCL, given the shard's hash key range, drops all the records of
// an aggregate as soon as one of them hashes outside it.
//
// # Reading
//
// A Kinesis record is aggregated when [IsAggregated] says so: its Data
// starts with the magic and is longer than the magic and the MD5 together
// (KCL's test, so that a 20-byte record, which would be an aggregate of
// nothing, is a plain record to both). A record that is not aggregated is
// not an error: it is a user record in its own right, with the Kinesis
// record's partition key, explicit hash key and Data. [Deaggregate] passes
// it through as a single Record holding Data unchanged and no keys; set
// the Kinesis record's partition key on it, or test IsAggregated first and
// keep the Kinesis record as it is.
//
// An aggregated record whose MD5 or protobuf is bad, or whose records
// point outside the key tables, is an error ([ErrChecksum], [ErrProtobuf],
// [ErrPartitionKeyIndex], [ErrExplicitHashKeyIndex]; test with errors.Is).
// KCL behaves differently, and a consumer that must match it can: KCL
// passes a record with a bad MD5 or a protobuf it cannot parse through as
// a plain record (so a plain record that happens to start with the magic
// is still delivered), and on an index out of range logs an error and
// delivers the records before the bad one.
//
// # The generated code
//
// aggregated.pb.go is generated from aggregated.proto (go generate; the
// test TestGeneratedCodeIsCurrent keeps it current) and its types are
// exported because protoc-gen-go exports them. The encoder and decoder
// here do not use them on their hot paths: they write and read the same
// wire format directly with protowire, which makes no allocation per
// record (the generated types would need a struct and a pointer for each
// record and each tag); the tests check that both agree byte for byte.
package kpl

//go:generate go run genproto.go

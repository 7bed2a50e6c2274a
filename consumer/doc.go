// Package consumer reads Kinesis streams, from AWS or Tributary, as
// AWS's Kinesis Client Library (KCL) does: workers share a stream's
// shards through leases kept in a LeaseStore, a Processor per leased
// shard receives its records in order with a Checkpointer, parents are
// processed before children, and KPL aggregated records are unpacked.
// It is a client of the Kinesis API through aws-sdk-go-v2.
//
// Work in progress (issue 13): the lease model (Lease, LeaseStore and
// its conformance suite, consumer/leasetest) comes first.
package consumer

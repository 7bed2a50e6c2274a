// Package kpl writes and reads the aggregated-record format of AWS's
// Kinesis Producer Library (KPL). It imports nothing of Tributary.
//
// aggregated.pb.go is generated from aggregated.proto (go generate; the
// test TestGeneratedCodeIsCurrent keeps it current).
package kpl

//go:generate go run genproto.go

package stream

import (
	"context"
	"errors"
	"slices"
)

// Enhanced monitoring: the shard-level metrics a stream publishes.
//
// The set is kept in the stream's catalogue entry, so it survives a
// restart, and it gates the kinesis_shard_* series (metrics.go): a metric
// has series only for the streams whose set holds it, as CloudWatch gets
// shard-level data only for what EnableEnhancedMonitoring turned on.
//
// What AWS does, from its API reference and the AWS CLI's examples:
//   - "ALL" names the seven metrics; the answers never show "ALL" but the
//     metrics it stands for (the CLI's example of enable-enhanced-monitoring
//     --shard-level-metrics ALL answers DesiredShardLevelMetrics with the
//     seven names, in the order of shardMetricNames);
//   - CurrentShardLevelMetrics is the set before the call and
//     DesiredShardLevelMetrics the set after it, both always present;
//   - the stream is named by StreamName or StreamARN;
//   - ResourceNotFoundException for a stream that does not exist,
//     ResourceInUseException when it is not ACTIVE.
//
// The stream is UPDATING for UpdateDelay after a call that changes the set.
// The API reference does not say so in words, but its answer calls the new
// set "Desired" (what "would be in the enhanced state after the
// operation"), it lists ResourceInUseException for a stream not ACTIVE, and
// Terraform's AWS provider waits for the stream to be ACTIVE again after
// each call: an asynchronous change, which is how this package reports one
// (UpdateMaxRecordSize, UpdateShardCount). A call that changes nothing
// leaves the stream ACTIVE. The API reference documents no call rate for
// either operation, so neither is throttled.

// shardMetricNames are the shard-level metrics, in the order AWS lists
// them in its answers.
var shardMetricNames = [...]string{
	MetricIncomingBytes,
	MetricOutgoingRecords,
	MetricIteratorAgeMilliseconds,
	MetricIncomingRecords,
	MetricReadProvisionedThroughputExceeded,
	MetricWriteProvisionedThroughputExceeded,
	MetricOutgoingBytes,
}

// The shard-level metric names, and ALL, as the API spells them.
const (
	MetricIncomingBytes                      = "IncomingBytes"
	MetricIncomingRecords                    = "IncomingRecords"
	MetricOutgoingBytes                      = "OutgoingBytes"
	MetricOutgoingRecords                    = "OutgoingRecords"
	MetricWriteProvisionedThroughputExceeded = "WriteProvisionedThroughputExceeded"
	MetricReadProvisionedThroughputExceeded  = "ReadProvisionedThroughputExceeded"
	MetricIteratorAgeMilliseconds            = "IteratorAgeMilliseconds"
	MetricAll                                = "ALL"
)

// metricSet is a set of shard-level metrics: bit i is shardMetricNames[i].
type metricSet uint8

const allMetrics metricSet = 1<<len(shardMetricNames) - 1

// metricBit returns the set holding only the metric called name (all of
// them for ALL), and false for a name that is neither a metric nor ALL.
func metricBit(name string) (metricSet, bool) {
	if name == MetricAll {
		return allMetrics, true
	}
	i := slices.Index(shardMetricNames[:], name)
	if i < 0 {
		return 0, false
	}
	return 1 << i, true
}

// parseMetrics reads a request's list; unknown names are an
// InvalidArgumentException (the wire layer rejects them first).
func parseMetrics(names []string) (metricSet, error) {
	if len(names) == 0 {
		return 0, newError(CodeInvalidArgument, "ShardLevelMetrics must not be empty.")
	}
	var set metricSet
	for _, n := range names {
		b, ok := metricBit(n)
		if !ok {
			return 0, newError(CodeInvalidArgument, "%s is not a shard-level metric.", n)
		}
		set |= b
	}
	return set, nil
}

// metricSetOf reads a catalogue entry's list, ignoring names it does not
// know (none are written).
func metricSetOf(names []string) metricSet {
	var set metricSet
	for _, n := range names {
		if b, ok := metricBit(n); ok && n != MetricAll {
			set |= b
		}
	}
	return set
}

// has reports whether the set holds the metric called name.
func (m metricSet) has(name string) bool {
	b, ok := metricBit(name)
	return ok && name != MetricAll && m&b != 0
}

// names lists the set in AWS's order; never nil, since AWS always sends
// the lists.
func (m metricSet) names() []string {
	out := []string{}
	for i, n := range shardMetricNames {
		if m&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// EnhancedMonitoringInput is the request of EnableEnhancedMonitoring and
// DisableEnhancedMonitoring: the metrics by AWS's names, or ALL.
type EnhancedMonitoringInput struct {
	Stream            StreamRef
	ShardLevelMetrics []string
}

// EnhancedMonitoringOutput is their answer: the set before the call
// (Current) and after it (Desired).
type EnhancedMonitoringOutput struct {
	StreamName               string
	StreamARN                string
	CurrentShardLevelMetrics []string
	DesiredShardLevelMetrics []string
}

// EnableEnhancedMonitoring adds metrics to the stream's shard-level set.
func (s *Service) EnableEnhancedMonitoring(ctx context.Context, scope Scope, in EnhancedMonitoringInput) (*EnhancedMonitoringOutput, error) {
	return s.changeMonitoring(ctx, scope, in, "enable enhanced monitoring", func(cur, req metricSet) metricSet { return cur | req })
}

// DisableEnhancedMonitoring removes metrics from the stream's shard-level
// set; their series go at once.
func (s *Service) DisableEnhancedMonitoring(ctx context.Context, scope Scope, in EnhancedMonitoringInput) (*EnhancedMonitoringOutput, error) {
	return s.changeMonitoring(ctx, scope, in, "disable enhanced monitoring", func(cur, req metricSet) metricSet { return cur &^ req })
}

func (s *Service) changeMonitoring(ctx context.Context, scope Scope, in EnhancedMonitoringInput, op string, apply func(cur, req metricSet) metricSet) (*EnhancedMonitoringOutput, error) {
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return nil, err
	}
	req, err := parseMetrics(in.ShardLevelMetrics)
	if err != nil {
		return nil, err
	}
	var before, after metricSet
	var seen *streamRecord
	rec, err := s.update(ctx, scope, name, func(rec *streamRecord, st StreamStatus) error {
		if st != StatusActive {
			return errNotActive(name, scope.Account, st)
		}
		seen = rec
		before = metricSetOf(rec.ShardLevelMetrics)
		after = apply(before, req)
		if after == before {
			return errNoChange
		}
		rec.ShardLevelMetrics = after.names()
		if after == 0 {
			rec.ShardLevelMetrics = nil
		}
		rec.UpdatingUntil = s.now().Add(s.updateDelay)
		return nil
	})
	if errors.Is(err, errNoChange) {
		rec, err = seen, nil
	}
	if err != nil {
		return nil, internal(op, err)
	}
	s.metrics.setShardLevel(rec, after)
	return &EnhancedMonitoringOutput{
		StreamName:               rec.Name,
		StreamARN:                rec.arn(),
		CurrentShardLevelMetrics: before.names(),
		DesiredShardLevelMetrics: after.names(),
	}, nil
}

package stream

import (
	"context"
)

// AWS's default quotas (Kinesis Data Streams developer guide, "Quotas and
// limits", as of 2026): 20,000 shards per account in us-east-1, us-west-2
// and eu-west-1, counted over provisioned streams; "1,000 or 6,000"
// elsewhere, without saying which region has which, so the lower; 50
// on-demand streams.
const (
	defaultShardLimitLarge     = 20000
	defaultShardLimit          = 1000
	defaultOnDemandStreamLimit = 50
)

func (s *Service) shardLimitFor(scope Scope) int {
	if s.shardLimit > 0 {
		return s.shardLimit
	}
	switch scope.Region {
	case "us-east-1", "us-west-2", "eu-west-1":
		return defaultShardLimitLarge
	}
	return defaultShardLimit
}

type accountUsage struct {
	openShards      int // of provisioned streams
	onDemandStreams int
}

// usage counts what the limits apply to over the scope's existing streams
// (those CREATING and DELETING included: their shards still count).
func usage(recs []*streamRecord) accountUsage {
	var u accountUsage
	for _, rec := range recs {
		if rec.Mode == ModeOnDemand {
			u.onDemandStreams++
			continue
		}
		u.openShards += rec.openShards()
	}
	return u
}

// DescribeLimits reports the scope's limits and usage.
func (s *Service) DescribeLimits(ctx context.Context, scope Scope) (*DescribeLimitsOutput, error) {
	if err := s.throttle.controlCall(scope, opDescribeLimits, ""); err != nil {
		return nil, err
	}
	recs, err := s.list(ctx, scope)
	if err != nil {
		return nil, internal("describe limits", err)
	}
	u := usage(recs)
	return &DescribeLimitsOutput{
		ShardLimit:               s.shardLimitFor(scope),
		OpenShardCount:           u.openShards,
		OnDemandStreamCount:      u.onDemandStreams,
		OnDemandStreamCountLimit: s.onDemandLimit,
	}, nil
}

func checkMaxRecordSize(kib int) error {
	if kib < defaultMaxRecordKiB || kib > maxMaxRecordKiB {
		return newError(CodeValidation,
			"MaxRecordSizeInKiB must be between %d and %d. Requested value: %d", defaultMaxRecordKiB, maxMaxRecordKiB, kib)
	}
	return nil
}

// UpdateMaxRecordSize changes the largest record (data plus partition key)
// the stream accepts. The change applies at once; the stream is UPDATING
// for UpdateDelay, as AWS reports an asynchronous change.
func (s *Service) UpdateMaxRecordSize(ctx context.Context, scope Scope, in UpdateMaxRecordSizeInput) error {
	if err := checkMaxRecordSize(in.MaxRecordSizeInKiB); err != nil {
		return err
	}
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return err
	}
	_, err = s.update(ctx, scope, name, func(rec *streamRecord, st StreamStatus) error {
		if st != StatusActive {
			return errNotActive(name, scope.Account, st)
		}
		rec.MaxRecordKiB = in.MaxRecordSizeInKiB
		rec.UpdatingUntil = s.now().Add(s.updateDelay)
		return nil
	})
	return internal("update max record size", err)
}

// DescribeLimitsOutput is DescribeLimits' result. OpenShardCount counts the
// open shards of provisioned streams, the shards ShardLimit applies to.
type DescribeLimitsOutput struct {
	ShardLimit               int
	OpenShardCount           int
	OnDemandStreamCount      int
	OnDemandStreamCountLimit int
}

// UpdateMaxRecordSizeInput is UpdateMaxRecordSize's request
// (MaxRecordSizeInKiB 1024..10240; the wire layer checks the bounds).
type UpdateMaxRecordSizeInput struct {
	Stream             StreamRef
	MaxRecordSizeInKiB int
}

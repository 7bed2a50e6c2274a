package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// syncShards lists the stream's shards and creates the leases that are
// missing. Which shards get a lease, and from where:
//
//   - When the application has no lease at all (its first start), by
//     InitialPosition: TrimHorizon and AtTimestamp give every shard listed
//     (closed ones too, within the retention period) a lease from that
//     position; Latest gives only the open shards one, from LATEST.
//   - Later, a shard found that has no lease gets one from TRIM_HORIZON if
//     it is open (a new child) or one of its parents has a lease (a
//     descendant of a shard processed); a closed shard with no leased
//     parent is older than the application and gets none.
//
// Workers may create the same lease at once; the store keeps the first.
func (w *Worker) syncShards(ctx context.Context) error {
	shards, err := w.listShards(ctx)
	if err != nil {
		return err
	}
	leases, err := w.cfg.Leases.List(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(leases))
	for _, l := range leases {
		have[l.Key] = true
	}
	first := len(leases) == 0
	// ListShards returns parents before their children, so a child sees
	// its parent's lease made in this same pass.
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		if have[id] {
			continue
		}
		open := s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber == nil
		var parents []string
		parentLeased := false
		for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
			if p != nil && *p != "" {
				parents = append(parents, *p)
				parentLeased = parentLeased || have[*p]
			}
		}
		var from string
		switch {
		case first && w.cfg.InitialPosition == Latest:
			if !open {
				continue
			}
			from = Latest
		case first:
			from = w.cfg.InitialPosition
		case open || parentLeased:
			from = TrimHorizon
		default:
			continue
		}
		l := Lease{Key: id, Checkpoint: Checkpoint{SequenceNumber: from}, ParentShardIDs: parents}
		if s.HashKeyRange != nil {
			l.StartingHashKey = aws.ToString(s.HashKeyRange.StartingHashKey)
			l.EndingHashKey = aws.ToString(s.HashKeyRange.EndingHashKey)
		}
		if err := w.cfg.Leases.Create(ctx, l); err != nil && !errors.Is(err, ErrLeaseExists) {
			return fmt.Errorf("create the lease of %s: %w", id, err)
		}
		have[id] = true
		w.log.Info("consumer: lease created", "shard", id, "from", from, "parents", parents)
	}
	return nil
}

// listShards lists every shard of the stream, page by page.
func (w *Worker) listShards(ctx context.Context) ([]types.Shard, error) {
	in := &kinesis.ListShardsInput{}
	setStream(w.cfg.Stream, &in.StreamName, &in.StreamARN)
	var all []types.Shard
	for {
		out, err := w.cfg.Client.ListShards(ctx, in, safeBodies)
		if err != nil {
			return nil, fmt.Errorf("list the shards of %s: %w", w.cfg.Stream, err)
		}
		all = append(all, out.Shards...)
		if out.NextToken == nil {
			return all, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

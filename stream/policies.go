package stream

import (
	"context"
	"errors"
	"maps"
)

// Resource policies (PutResourcePolicy and its kin) and what package api
// needs to know of a resource to authorise a call on it.
//
// A policy is kept as the text PutResourcePolicy was given, in the entry
// of the stream it belongs to (streamRecord.Policy, or consumerRecord.Policy
// for a consumer), so it survives restarts and goes with the stream.
// This package does not read policies: package api validates a document
// before it is stored and evaluates it on every call with a caller.
//
// Calls across accounts: resolve refuses an ARN of an account other than
// the scope's, as a stream this caller cannot see. Package api, once the
// policies allow a call on another account's stream or consumer, serves it
// in that account's scope (ScopeOfARN), which is the only way a call
// reaches another account's streams; the region must be the request's.

// ScopeOfARN returns the account and region of a stream or consumer ARN.
func ScopeOfARN(arn string) (Scope, bool) {
	if streamARN, _, _, ok := parseConsumerARN(arn); ok {
		arn = streamARN
	}
	region, account, _, ok := parseStreamARN(arn)
	if !ok {
		return Scope{}, false
	}
	return Scope{Account: account, Region: region}, true
}

// StreamARN is the ARN of the stream called name in scope.
func StreamARN(scope Scope, name string) string { return streamARN(scope.Region, scope.Account, name) }

// IsConsumerARN reports whether arn names a consumer rather than a stream.
func IsConsumerARN(arn string) bool {
	_, _, _, ok := parseConsumerARN(arn)
	return ok
}

// PutResourcePolicy attaches policy, replacing any, to the stream or
// consumer arn names.
func (s *Service) PutResourcePolicy(ctx context.Context, scope Scope, arn, policy string) error {
	return s.setPolicy(ctx, scope, arn, &policy)
}

// DeleteResourcePolicy removes the policy of the stream or consumer arn
// names; one without a policy is left as it is.
func (s *Service) DeleteResourcePolicy(ctx context.Context, scope Scope, arn string) error {
	return s.setPolicy(ctx, scope, arn, nil)
}

func (s *Service) setPolicy(ctx context.Context, scope Scope, arn string, policy *string) error {
	r, err := resourceOf(scope, arn)
	if err != nil {
		return err
	}
	text := ""
	if policy != nil {
		text = *policy
	}
	_, err = s.update(ctx, scope, r.stream, func(rec *streamRecord, _ StreamStatus) error {
		if r.consumer == "" {
			rec.Policy = text
			return nil
		}
		c, err := r.consumerOf(rec, s.clock(), scope.Account)
		if err != nil {
			return err
		}
		c.Policy = text
		return nil
	})
	return internal("set resource policy", err)
}

// GetResourcePolicy returns the policy of the stream or consumer arn
// names, empty when it has none.
func (s *Service) GetResourcePolicy(ctx context.Context, scope Scope, arn string) (string, error) {
	facts, err := s.ResourceFacts(ctx, scope, arn)
	if err != nil {
		return "", err
	}
	if !facts.Exists {
		r, _ := resourceOf(scope, arn)
		if r.consumer != "" {
			if _, _, err := s.get(ctx, scope, r.stream); err != nil {
				return "", err
			}
			return "", errConsumerNotFound(r.consumer, r.stream, scope.Account)
		}
		return "", errStreamNotFound(r.stream, scope.Account)
	}
	return facts.Policy, nil
}

// ResourceFacts is what authorising a call on a stream or consumer
// needs to know of it.
type ResourceFacts struct {
	// Exists is false for a stream or consumer that does not exist (now):
	// it has no policy and no tags.
	Exists bool
	Policy string
	Tags   map[string]string
}

// ResourceFacts reads the policy and tags of the stream or consumer arn
// names in scope. A resource that does not exist is not an error: a call
// on it is authorised like any other (so that who may not call learns
// nothing of what exists), and then answered by the operation itself.
func (s *Service) ResourceFacts(ctx context.Context, scope Scope, arn string) (ResourceFacts, error) {
	r, err := resourceOf(scope, arn)
	if se := (*Error)(nil); errors.As(err, &se) && se.Code == CodeInvalidArgument {
		// An ARN that names nothing: the one api makes for a consumer
		// that does not exist (it has no creation time to end in), or
		// for a shard iterator that is not one of scope's (no stream
		// name). Nothing is there, so it is authorised as a resource
		// that does not exist, and the operation answers what is wrong
		// (ResourceNotFound, Invalid ShardIterator).
		return ResourceFacts{}, nil
	}
	if err != nil {
		return ResourceFacts{}, err
	}
	e, _, err := s.get(ctx, scope, r.stream)
	if err != nil {
		if se := (*Error)(nil); errors.As(err, &se) && se.Code == CodeNotFound {
			return ResourceFacts{}, nil
		}
		return ResourceFacts{}, internal("read resource policy", err)
	}
	if r.consumer == "" {
		return ResourceFacts{Exists: true, Policy: e.rec.Policy, Tags: maps.Clone(e.rec.Tags)}, nil
	}
	c, err := r.consumerOf(e.rec, s.clock(), scope.Account)
	if err != nil {
		return ResourceFacts{}, nil
	}
	return ResourceFacts{Exists: true, Policy: c.Policy, Tags: maps.Clone(c.Tags)}, nil
}

// IteratorStream returns the name of the stream a shard iterator issued
// in scope names, or false when it is not a good iterator of scope
// (GetRecords then answers why).
func (s *Service) IteratorStream(scope Scope, iterator string) (string, bool) {
	it, err := decodeIterator(s.iterKey, scope, iterator, s.now(), s.iterLifetime)
	if err != nil {
		return "", false
	}
	return it.stream, true
}

// ListShardsTokenStream returns the name of the stream a ListShards
// NextToken issued in scope names, or false when it is not a good token
// of scope (ListShards then answers why).
func (s *Service) ListShardsTokenStream(scope Scope, nextToken string) (string, bool) {
	t, err := s.openToken(scope, nextToken, tokenListShards)
	if err != nil {
		return "", false
	}
	return t.Stream, true
}

package stream

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
)

// maxTags is the most tags a stream may have, and the most listed at once.
const maxTags = 50

func errTooManyTags(name, account string) *Error {
	return newError(CodeInvalidArgument,
		"Failed to add tags to stream %s under account %s because a given stream cannot have more than %d tags associated with it.", name, account, maxTags)
}

// checkTags applies AWS's character rules to tag keys and values (their
// lengths are the wire layer's). The API reference lists "Unicode letters,
// digits, white space, _ . / = + - % @"; captured answers of the live
// service (kinesalite's tests) show that white space means the space
// characters (a tab or a newline is refused, like a comma or a
// semicolon), and that '%', although listed, is refused with a message of
// its own (checkTagsPercent).
func checkTags(tags map[string]string) error {
	for k, v := range tags {
		for _, s := range [2]string{k, v} {
			if strings.ContainsFunc(s, func(r rune) bool { return !tagRune(r) }) {
				return newError(CodeInvalidArgument,
					"Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - %% @.")
			}
		}
	}
	return nil
}

func tagRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Zs, r) || strings.ContainsRune("_./=+-%@", r)
}

func checkTagsPercent(tags map[string]string, name, account string) error {
	for k, v := range tags {
		if strings.Contains(k, "%") || strings.Contains(v, "%") {
			return newError(CodeInvalidArgument,
				"Failed to add tags to stream %s under account %s because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.", name, account)
		}
	}
	return nil
}

// AddTagsToStream adds tags to a stream or overwrites their values.
func (s *Service) AddTagsToStream(ctx context.Context, scope Scope, in AddTagsToStreamInput) error {
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return err
	}
	if err := s.throttle.controlCall(scope, opAddTagsToStream, name); err != nil {
		return err
	}
	return s.addTags(ctx, scope, name, in.Tags)
}

func (s *Service) addTags(ctx context.Context, scope Scope, name string, tags map[string]string) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	if err := checkTagsPercent(tags, name, scope.Account); err != nil {
		return err
	}
	_, err := s.update(ctx, scope, name, func(rec *streamRecord, _ StreamStatus) error {
		merged := maps.Clone(rec.Tags)
		if merged == nil {
			merged = make(map[string]string, len(tags))
		}
		maps.Copy(merged, tags)
		if len(merged) > maxTags {
			return errTooManyTags(name, scope.Account)
		}
		rec.Tags = merged
		return nil
	})
	return internal("add tags", err)
}

// RemoveTagsFromStream removes tags; keys the stream does not have are
// ignored.
func (s *Service) RemoveTagsFromStream(ctx context.Context, scope Scope, in RemoveTagsFromStreamInput) error {
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return err
	}
	if err := s.throttle.controlCall(scope, opRemoveTagsFromStream, name); err != nil {
		return err
	}
	return s.removeTags(ctx, scope, name, in.TagKeys)
}

func (s *Service) removeTags(ctx context.Context, scope Scope, name string, keys []string) error {
	_, err := s.update(ctx, scope, name, func(rec *streamRecord, _ StreamStatus) error {
		for _, k := range keys {
			delete(rec.Tags, k)
		}
		return nil
	})
	return internal("remove tags", err)
}

// sortedTags returns a stream's tags in key order.
func sortedTags(tags map[string]string) []Tag {
	out := make([]Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, Tag{Key: k, Value: tags[k]})
	}
	return out
}

// ListTagsForStream lists a page of a stream's tags in key order, starting
// after ExclusiveStartTagKey.
func (s *Service) ListTagsForStream(ctx context.Context, scope Scope, in ListTagsForStreamInput) (*ListTagsForStreamOutput, error) {
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return nil, err
	}
	if err := s.throttle.controlCall(scope, opListTagsForStream, name); err != nil {
		return nil, err
	}
	e, _, err := s.get(ctx, scope, name)
	if err != nil {
		return nil, internal("list tags", err)
	}
	limit := in.Limit
	if limit <= 0 {
		limit = maxTags
	}
	limit = min(limit, maxTags)
	out := &ListTagsForStreamOutput{Tags: []Tag{}}
	for _, t := range sortedTags(e.rec.Tags) {
		if in.ExclusiveStartTagKey != "" && t.Key <= in.ExclusiveStartTagKey {
			continue
		}
		if len(out.Tags) == limit {
			out.HasMoreTags = true
			break
		}
		out.Tags = append(out.Tags, t)
	}
	return out, nil
}

// resource is what the ARN of a tagging call names: a stream, or one of
// its consumers (consumer is then its name, and epoch the creation second
// its ARN carries).
type resource struct {
	stream   string
	consumer string
	epoch    int64
}

func resourceOf(scope Scope, arn string) (resource, error) {
	if streamARN, cname, epoch, ok := parseConsumerARN(arn); ok {
		name, err := resolve(scope, StreamRef{ARN: streamARN})
		return resource{stream: name, consumer: cname, epoch: epoch}, err
	}
	name, err := resolve(scope, StreamRef{ARN: arn})
	return resource{stream: name}, err
}

// consumerOf returns the live consumer r names in rec, or AWS's not-found.
func (r resource) consumerOf(rec *streamRecord, now time.Time, account string) (*consumerRecord, error) {
	c := rec.consumer(r.consumer, now)
	if c == nil || c.Created.Unix() != r.epoch {
		return nil, errConsumerNotFound(r.consumer, r.stream, account)
	}
	return c, nil
}

// checkConsumerTags applies the stream's tag rules to a consumer's tags.
// AWS's wording for consumers is not known; these messages name the
// consumer where the stream's name the stream.
func checkConsumerTags(tags map[string]string, consumer, stream, account string) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	if len(tags) > maxTags {
		return newError(CodeInvalidArgument,
			"Failed to add tags to consumer %s of stream %s under account %s because a given consumer cannot have more than %d tags associated with it.",
			consumer, stream, account, maxTags)
	}
	return nil
}

// updateConsumerTags replaces the tags of the consumer r names with what
// change makes of a copy of them.
func (s *Service) updateConsumerTags(ctx context.Context, scope Scope, r resource, change func(tags map[string]string) error) error {
	_, err := s.update(ctx, scope, r.stream, func(rec *streamRecord, _ StreamStatus) error {
		c, err := r.consumerOf(rec, s.clock(), scope.Account)
		if err != nil {
			return err
		}
		tags := maps.Clone(c.Tags)
		if tags == nil {
			tags = make(map[string]string)
		}
		if err := change(tags); err != nil {
			return err
		}
		c.Tags = tags
		return nil
	})
	return internal("update consumer tags", err)
}

// TagResource adds tags to the stream or consumer named by ARN.
func (s *Service) TagResource(ctx context.Context, scope Scope, in TagResourceInput) error {
	r, err := resourceOf(scope, in.ResourceARN)
	if err != nil {
		return err
	}
	if err := s.throttle.controlCall(scope, opTagResource, r.stream); err != nil {
		return err
	}
	if r.consumer == "" {
		return s.addTags(ctx, scope, r.stream, in.Tags)
	}
	return s.updateConsumerTags(ctx, scope, r, func(tags map[string]string) error {
		maps.Copy(tags, in.Tags)
		return checkConsumerTags(tags, r.consumer, r.stream, scope.Account)
	})
}

// UntagResource removes tags from the stream or consumer named by ARN.
func (s *Service) UntagResource(ctx context.Context, scope Scope, in UntagResourceInput) error {
	r, err := resourceOf(scope, in.ResourceARN)
	if err != nil {
		return err
	}
	if err := s.throttle.controlCall(scope, opUntagResource, r.stream); err != nil {
		return err
	}
	if r.consumer == "" {
		return s.removeTags(ctx, scope, r.stream, in.TagKeys)
	}
	return s.updateConsumerTags(ctx, scope, r, func(tags map[string]string) error {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		return nil
	})
}

// ListTagsForResource lists all tags of the stream or consumer named by
// ARN.
func (s *Service) ListTagsForResource(ctx context.Context, scope Scope, in ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	r, err := resourceOf(scope, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if err := s.throttle.controlCall(scope, opListTagsForResource, r.stream); err != nil {
		return nil, err
	}
	e, _, err := s.get(ctx, scope, r.stream)
	if err != nil {
		return nil, internal("list tags", err)
	}
	if r.consumer == "" {
		return &ListTagsForResourceOutput{Tags: sortedTags(e.rec.Tags)}, nil
	}
	c, err := r.consumerOf(e.rec, s.clock(), scope.Account)
	if err != nil {
		return nil, err
	}
	return &ListTagsForResourceOutput{Tags: sortedTags(c.Tags)}, nil
}

// AddTagsToStreamInput is AddTagsToStream's request.
type AddTagsToStreamInput struct {
	Stream StreamRef
	Tags   map[string]string
}

// RemoveTagsFromStreamInput is RemoveTagsFromStream's request.
type RemoveTagsFromStreamInput struct {
	Stream  StreamRef
	TagKeys []string
}

// ListTagsForStreamInput is ListTagsForStream's request. Limit is 50 when
// zero (AWS's maximum of 50 also applies to larger values).
type ListTagsForStreamInput struct {
	Stream               StreamRef
	ExclusiveStartTagKey string
	Limit                int
}

// Tag is one key-value pair. Tags are listed in key order.
type Tag struct {
	Key   string
	Value string
}

// ListTagsForStreamOutput is ListTagsForStream's result.
type ListTagsForStreamOutput struct {
	Tags        []Tag
	HasMoreTags bool
}

// TagResourceInput is TagResource's request; ResourceARN is a stream's or
// a consumer's ARN.
type TagResourceInput struct {
	ResourceARN string
	Tags        map[string]string
}

// UntagResourceInput is UntagResource's request.
type UntagResourceInput struct {
	ResourceARN string
	TagKeys     []string
}

// ListTagsForResourceInput is ListTagsForResource's request.
type ListTagsForResourceInput struct {
	ResourceARN string
}

// ListTagsForResourceOutput is ListTagsForResource's result.
type ListTagsForResourceOutput struct {
	Tags []Tag
}

package stream

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Enhanced fan-out consumers.
//
// A consumer is kept in its stream's catalogue entry (streamRecord.Consumers),
// so every change is the stream's read-modify-CompareAndSwap and deleting
// the stream deletes its consumers with it. A consumer ARN carries the
// consumer's creation time in seconds, which lookups by ARN compare, so
// the ARN of a deregistered consumer does not name a later one of the same
// name (unless both were registered within the same second).
//
// Like a stream's, a consumer's status is not stored: it is CREATING until
// ActiveAt, ACTIVE after, DELETING once deregistered and gone from GoneAt.
// The delays are the stream's: a consumer is CREATING for Options.CreateDelay
// and DELETING for Options.DeleteDelay, which is what tests and the
// --create-delay and --delete-delay flags already tune.

// ConsumerStatus is a consumer's state.
type ConsumerStatus string

const (
	ConsumerCreating ConsumerStatus = "CREATING"
	ConsumerDeleting ConsumerStatus = "DELETING"
	ConsumerActive   ConsumerStatus = "ACTIVE"
)

// defaultConsumerLimit is AWS's default number of registered consumers per
// stream (Kinesis Data Streams quotas: "up to 20 consumers per data stream").
const defaultConsumerLimit = 20

// Consumer describes a registered consumer.
type Consumer struct {
	ConsumerName              string
	ConsumerARN               string
	ConsumerStatus            ConsumerStatus
	ConsumerCreationTimestamp time.Time
	StreamARN                 string
}

// ConsumerRef names a consumer: by ConsumerARN, or by StreamARN and
// ConsumerName together.
type ConsumerRef struct {
	ConsumerARN  string
	StreamARN    string
	ConsumerName string
}

// RegisterStreamConsumerInput is RegisterStreamConsumer's request.
type RegisterStreamConsumerInput struct {
	StreamARN    string
	ConsumerName string
	// Tags are the consumer's, listed by ListTagsForResource on its ARN.
	Tags map[string]string
}

// ListStreamConsumersInput is ListStreamConsumers' request. MaxResults is
// 100 when zero. StreamCreationTimestamp (nil when absent) must match the
// stream's creation time when given.
type ListStreamConsumersInput struct {
	StreamARN               string
	NextToken               string
	MaxResults              int
	StreamCreationTimestamp *time.Time
}

// ListStreamConsumersOutput is ListStreamConsumers' result; NextToken is
// empty on the last page.
type ListStreamConsumersOutput struct {
	Consumers []Consumer
	NextToken string
}

// consumerRecord is a consumer as the catalogue keeps it. Created has
// second precision because the consumer ARN carries it in epoch seconds.
type consumerRecord struct {
	Name       string            `json:"name"`
	Created    time.Time         `json:"created"`
	ActiveAt   time.Time         `json:"activeAt"`
	DeletingAt time.Time         `json:"deletingAt,omitzero"`
	GoneAt     time.Time         `json:"goneAt,omitzero"`
	Tags       map[string]string `json:"tags,omitempty"`
	// Policy is the consumer's resource policy, empty for none; see
	// streamRecord.Policy.
	Policy string `json:"policy,omitempty"`
}

func (c *consumerRecord) status(now time.Time) (ConsumerStatus, bool) {
	switch {
	case !c.GoneAt.IsZero() && !now.Before(c.GoneAt):
		return "", false
	case !c.DeletingAt.IsZero():
		return ConsumerDeleting, true
	case now.Before(c.ActiveAt):
		return ConsumerCreating, true
	}
	return ConsumerActive, true
}

// consumerARN is arn:aws:kinesis:REGION:ACCOUNT:stream/NAME/consumer/CNAME:EPOCH,
// the form AWS gives (RegisterStreamConsumer's ConsumerARN), EPOCH being the
// creation time in seconds.
func consumerARN(rec *streamRecord, c *consumerRecord) string {
	return rec.arn() + "/consumer/" + c.Name + ":" + strconv.FormatInt(c.Created.Unix(), 10)
}

// parseConsumerARN splits a consumer ARN into its stream ARN, consumer name
// and creation epoch.
func parseConsumerARN(arn string) (streamARN, name string, epoch int64, ok bool) {
	i := strings.LastIndexByte(arn, ':')
	if i < 0 {
		return "", "", 0, false
	}
	epoch, err := strconv.ParseInt(arn[i+1:], 10, 64)
	if err != nil {
		return "", "", 0, false
	}
	streamARN, name, ok = strings.Cut(arn[:i], "/consumer/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", "", 0, false
	}
	if _, _, _, ok := parseStreamARN(streamARN); !ok {
		return "", "", 0, false
	}
	return streamARN, name, epoch, true
}

func (r *streamRecord) describeConsumer(c *consumerRecord, now time.Time) Consumer {
	st, _ := c.status(now)
	return Consumer{
		ConsumerName:              c.Name,
		ConsumerARN:               consumerARN(r, c),
		ConsumerStatus:            st,
		ConsumerCreationTimestamp: c.Created,
		StreamARN:                 r.arn(),
	}
}

// liveConsumers counts the consumers that exist at now.
func (r *streamRecord) liveConsumers(now time.Time) int {
	n := 0
	for i := range r.Consumers {
		if _, ok := r.Consumers[i].status(now); ok {
			n++
		}
	}
	return n
}

// consumer returns the live consumer called name, or nil.
func (r *streamRecord) consumer(name string, now time.Time) *consumerRecord {
	for i := range r.Consumers {
		c := &r.Consumers[i]
		if _, ok := c.status(now); ok && c.Name == name {
			return c
		}
	}
	return nil
}

func errConsumerNotFound(name, stream, account string) *Error {
	return newError(CodeNotFound, "Consumer %s under stream %s and account %s not found.", name, stream, account)
}

// errConsumerNotActive is AWS's answer to SubscribeToShard for a consumer
// that is not ACTIVE (seen in AWS's answers as "Consumer NAME with creation
// timestamp EPOCH under stream STREAM and account ACCOUNT is not in ACTIVE
// status.").
func errConsumerNotActive(c *consumerRecord, stream, account string) *Error {
	return newError(CodeInUse, "Consumer %s with creation timestamp %d under stream %s and account %s is not in ACTIVE status.",
		c.Name, c.Created.Unix(), stream, account)
}

// errStreamHasConsumers is AWS's DeleteStream answer for a stream with
// consumers when EnforceConsumerDeletion is not set.
func errStreamHasConsumers(name, account string) *Error {
	return newError(CodeInUse,
		"DeleteStream can't delete %s:%s because there are consumers associated with this data stream. To delete %s anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that are associated with it.",
		account, name, name)
}

// streamOfConsumer resolves the stream a StreamARN names for a consumer
// operation, which AWS requires to be given as an ARN.
func streamOfConsumer(scope Scope, arn string) (string, error) {
	if arn == "" {
		return "", newError(CodeInvalidArgument, "StreamARN must be provided.")
	}
	return resolve(scope, StreamRef{ARN: arn})
}

// RegisterStreamConsumer registers a consumer with an ACTIVE or UPDATING
// stream. It is CREATING for CreateDelay, then ACTIVE.
func (s *Service) RegisterStreamConsumer(ctx context.Context, scope Scope, in RegisterStreamConsumerInput) (*Consumer, error) {
	name, err := streamOfConsumer(scope, in.StreamARN)
	if err != nil {
		return nil, err
	}
	if !validStreamName(in.ConsumerName) {
		return nil, newError(CodeValidation,
			"1 validation error detected: Value '%s' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", in.ConsumerName)
	}
	if err := checkConsumerTags(in.Tags, in.ConsumerName, name, scope.Account); err != nil {
		return nil, err
	}
	limit := s.consumerLimit
	var added consumerRecord
	rec, err := s.update(ctx, scope, name, func(rec *streamRecord, st StreamStatus) error {
		if st == StatusCreating || st == StatusDeleting {
			return errNotActive(name, scope.Account, st)
		}
		now := s.clock()
		// Drop consumers whose deregistration is over, keeping the entry
		// small; their ARNs stay unknown because the names are gone.
		rec.Consumers = slices.DeleteFunc(rec.Consumers, func(c consumerRecord) bool {
			_, ok := c.status(now)
			return !ok
		})
		if rec.consumer(in.ConsumerName, now) != nil {
			return newError(CodeInUse, "Consumer %s under stream %s already exists for account %s.", in.ConsumerName, name, scope.Account)
		}
		if len(rec.Consumers) >= limit {
			return newError(CodeLimitExceeded,
				"Consumer limit of %d has been reached for stream %s under account %s.", limit, name, scope.Account)
		}
		created := now.Truncate(time.Second)
		added = consumerRecord{Name: in.ConsumerName, Created: created, ActiveAt: now.Add(s.createDelay), Tags: maps.Clone(in.Tags)}
		rec.Consumers = append(rec.Consumers, added)
		slices.SortFunc(rec.Consumers, func(a, b consumerRecord) int { return strings.Compare(a.Name, b.Name) })
		return nil
	})
	if err != nil {
		return nil, internal("register stream consumer", err)
	}
	c := rec.describeConsumer(&added, s.clock())
	return &c, nil
}

// findConsumer returns the stream entry and the live consumer ref names.
func (s *Service) findConsumer(ctx context.Context, scope Scope, ref ConsumerRef) (entry, *consumerRecord, error) {
	streamARN, cname := ref.StreamARN, ref.ConsumerName
	var epoch int64 = -1
	if ref.ConsumerARN != "" {
		var ok bool
		streamARN, cname, epoch, ok = parseConsumerARN(ref.ConsumerARN)
		if !ok {
			return entry{}, nil, newError(CodeInvalidArgument, "ConsumerARN %s is invalid.", ref.ConsumerARN)
		}
	} else if streamARN == "" || cname == "" {
		return entry{}, nil, newError(CodeInvalidArgument, "Either ConsumerARN or both StreamARN and ConsumerName must be provided.")
	}
	name, err := streamOfConsumer(scope, streamARN)
	if err != nil {
		return entry{}, nil, err
	}
	e, _, err := s.get(ctx, scope, name)
	if err != nil {
		return entry{}, nil, err
	}
	c := e.rec.consumer(cname, s.clock())
	if c == nil || epoch >= 0 && c.Created.Unix() != epoch {
		return entry{}, nil, errConsumerNotFound(cname, name, scope.Account)
	}
	return e, c, nil
}

// DescribeStreamConsumer describes a consumer.
func (s *Service) DescribeStreamConsumer(ctx context.Context, scope Scope, ref ConsumerRef) (*Consumer, error) {
	e, c, err := s.findConsumer(ctx, scope, ref)
	if err != nil {
		return nil, internal("describe stream consumer", err)
	}
	out := e.rec.describeConsumer(c, s.clock())
	return &out, nil
}

// DeregisterStreamConsumer starts deregistering a consumer: it is DELETING
// for DeleteDelay and then gone. Its subscriptions end at once.
// Deregistering a consumer already DELETING changes nothing.
func (s *Service) DeregisterStreamConsumer(ctx context.Context, scope Scope, ref ConsumerRef) error {
	e, c, err := s.findConsumer(ctx, scope, ref)
	if err != nil {
		return internal("deregister stream consumer", err)
	}
	name, cname, created := e.rec.Name, c.Name, c.Created
	arn := consumerARN(e.rec, c)
	_, err = s.update(ctx, scope, name, func(rec *streamRecord, _ StreamStatus) error {
		now := s.clock()
		c := rec.consumer(cname, now)
		if c == nil || !c.Created.Equal(created) {
			return errConsumerNotFound(cname, name, scope.Account)
		}
		if !c.DeletingAt.IsZero() {
			return errNoChange
		}
		c.DeletingAt = now
		c.GoneAt = now.Add(s.deleteDelay)
		return nil
	})
	if err == errNoChange {
		return nil
	}
	if err != nil {
		return internal("deregister stream consumer", err)
	}
	s.subs.endConsumer(arn, errConsumerNotActive(&consumerRecord{Name: cname, Created: created}, name, scope.Account))
	s.metrics.forgetConsumer(scope.Account, scope.Region, name, cname)
	return nil
}

const (
	defaultListConsumers = 100
	maxListConsumers     = 10000
)

// ListStreamConsumers lists a stream's consumers in name order, including
// those CREATING and DELETING.
func (s *Service) ListStreamConsumers(ctx context.Context, scope Scope, in ListStreamConsumersInput) (*ListStreamConsumersOutput, error) {
	name, err := streamOfConsumer(scope, in.StreamARN)
	if err != nil {
		return nil, err
	}
	var after string
	var tag uint32
	useTag := false
	if in.NextToken != "" {
		tok, err := s.openToken(scope, in.NextToken, tokenListConsumers)
		if err != nil {
			return nil, err
		}
		if tok.Stream != name {
			return nil, newError(CodeInvalidArgument, "Invalid NextToken.")
		}
		after, tag, useTag = tok.After, tok.Tag, true
	}
	e, _, err := s.get(ctx, scope, name)
	if err != nil {
		return nil, internal("list stream consumers", err)
	}
	rec := e.rec
	if useTag && rec.Tag != tag {
		return nil, newError(CodeExpiredNextToken, "The NextToken has expired because the stream %s was re-created.", name)
	}
	if in.StreamCreationTimestamp != nil && !in.StreamCreationTimestamp.Truncate(time.Millisecond).Equal(rec.Created) {
		return nil, errStreamNotFound(name, scope.Account)
	}
	limit := in.MaxResults
	if limit <= 0 {
		limit = defaultListConsumers
	}
	limit = min(limit, maxListConsumers)
	now := s.clock()
	out := &ListStreamConsumersOutput{Consumers: []Consumer{}}
	for i := range rec.Consumers {
		c := &rec.Consumers[i]
		if _, ok := c.status(now); !ok || c.Name <= after {
			continue
		}
		if len(out.Consumers) == limit {
			tok, err := s.sealToken(scope, token{Kind: tokenListConsumers, Stream: name, Tag: rec.Tag, After: out.Consumers[limit-1].ConsumerName})
			if err != nil {
				return nil, err
			}
			out.NextToken = tok
			break
		}
		out.Consumers = append(out.Consumers, rec.describeConsumer(c, now))
	}
	return out, nil
}

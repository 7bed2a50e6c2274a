package api

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/policy"
	"github.com/tributary-io/tributary/stream"
)

// Authorisation: every call made with a Caller (serve --auth sigv4) is
// evaluated against the caller's identity policy and the resource
// policy of the stream or consumer it acts on, as IAM does (package
// policy), before anything else happens. A call without a Caller (--auth
// off) is not subject to policies at all.
//
// The IAM action of an operation is "kinesis:" and its name: Kinesis's
// actions are named after its operations one for one. What differs is
// the resource, which is what resources lists, after AWS's "Actions,
// resources, and condition keys for Amazon Kinesis Data Streams".

// resourceKind is where an operation's resource ARN comes from.
type resourceKind int

const (
	// resNone: the action has no resource (the policy must say "*").
	resNone resourceKind = iota
	// resStream: the stream its StreamName or StreamARN names.
	resStream
	// resConsumer: the consumer its ConsumerARN, or StreamARN and
	// ConsumerName, name.
	resConsumer
	// resResource: the stream or consumer its ResourceARN names.
	resResource
	// resIterator: the stream its shard iterator was issued for.
	resIterator
	// resListShards: the stream it names, or its NextToken was issued for.
	resListShards
)

// resources gives every operation's resource; an operation missing here
// is refused (TestResourcesCoverOperations keeps it complete).
var resources = map[string]resourceKind{
	kinesis.OpAddTagsToStream:                        resStream,
	kinesis.OpCreateStream:                           resStream,
	kinesis.OpDecreaseStreamRetentionPeriod:          resStream,
	kinesis.OpDeleteResourcePolicy:                   resResource,
	kinesis.OpDeleteStream:                           resStream,
	kinesis.OpDeregisterStreamConsumer:               resConsumer,
	kinesis.OpDescribeAccountSettings:                resNone,
	kinesis.OpDescribeLimits:                         resNone,
	kinesis.OpDescribeStream:                         resStream,
	kinesis.OpDescribeStreamConsumer:                 resConsumer,
	kinesis.OpDescribeStreamSummary:                  resStream,
	kinesis.OpDisableEnhancedMonitoring:              resStream,
	kinesis.OpEnableEnhancedMonitoring:               resStream,
	kinesis.OpGetRecords:                             resIterator,
	kinesis.OpGetResourcePolicy:                      resResource,
	kinesis.OpGetShardIterator:                       resStream,
	kinesis.OpIncreaseStreamRetentionPeriod:          resStream,
	kinesis.OpListShards:                             resListShards,
	kinesis.OpListStreamConsumers:                    resStream,
	kinesis.OpListStreams:                            resNone,
	kinesis.OpListTagsForResource:                    resResource,
	kinesis.OpListTagsForStream:                      resStream,
	kinesis.OpMergeShards:                            resStream,
	kinesis.OpPutRecord:                              resStream,
	kinesis.OpPutRecords:                             resStream,
	kinesis.OpPutResourcePolicy:                      resResource,
	kinesis.OpRegisterStreamConsumer:                 resStream,
	kinesis.OpRemoveTagsFromStream:                   resStream,
	kinesis.OpSplitShard:                             resStream,
	kinesis.OpStartStreamEncryption:                  resStream,
	kinesis.OpStopStreamEncryption:                   resStream,
	kinesis.OpSubscribeToShard:                       resConsumer,
	kinesis.OpTagResource:                            resResource,
	kinesis.OpUntagResource:                          resResource,
	kinesis.OpUpdateAccountSettings:                  resNone,
	kinesis.OpUpdateMaxRecordSize:                    resStream,
	kinesis.OpUpdateShardCount:                       resStream,
	kinesis.OpUpdateStreamMode:                       resStream,
	kinesis.OpUpdateStreamRecordDistributionStrategy: resStream,
	kinesis.OpUpdateStreamWarmThroughput:             resStream,
}

// ownerOnly are the operations only the resource's own account may call,
// whatever the policies say: AWS's resource policy operations.
var ownerOnly = map[string]bool{
	kinesis.OpPutResourcePolicy:    true,
	kinesis.OpGetResourcePolicy:    true,
	kinesis.OpDeleteResourcePolicy: true,
}

// authorize decides whether req's caller may make the call, and returns
// the scope to serve it in: the caller's own, or, for a call on another
// account's stream or consumer that both sides allow, that account's.
func (a *API) authorize(ctx context.Context, op string, req *kinesis.Request, in kinesis.Input) (stream.Scope, error) {
	caller := req.Caller
	own := stream.Scope{Account: req.Account, Region: req.Region}
	kind, ok := resources[op]
	if !ok {
		return own, fmt.Errorf("authorize: no resource known for %s", op)
	}
	arn, scope := a.resourceOf(ctx, kind, own, in)
	action := "kinesis:" + op

	identity, err := a.policies.parse(caller.Policy, policy.Identity)
	if err != nil {
		return own, fmt.Errorf("identity policy of %s: %w", caller.ARN, err)
	}
	var facts stream.ResourceFacts
	if arn != "*" {
		if facts, err = a.svc.ResourceFacts(ctx, scope, arn); err != nil {
			return own, err
		}
	}
	resource, err := a.policies.parse([]byte(facts.Policy), policy.Resource)
	if err != nil {
		return own, fmt.Errorf("resource policy of %s: %w", arn, err)
	}
	preq := policy.Request{
		Action:           action,
		Resource:         arn,
		ResourceAccount:  scope.Account,
		PrincipalAccount: caller.Account,
		PrincipalARN:     caller.ARN,
		Context:          conditionContext(req, scope, facts, in, time.Now()),
	}
	reason := policy.Evaluate(preq, identity, resource)
	if reason == policy.Allowed && ownerOnly[op] && scope.Account != caller.Account {
		return own, kinesis.NewError(kinesis.ErrAccessDenied, fmt.Sprintf(
			"User: %s is not authorized to perform: %s on resource: %s because only the account that owns the resource may",
			caller.ARN, action, arn))
	}
	if reason != policy.Allowed {
		return own, accessDenied(caller.ARN, action, arn, reason)
	}
	return scope, nil
}

// accessDenied is AWS's AccessDeniedException for an evaluation that
// denied, in IAM's wording for each reason.
func accessDenied(principal, action, resource string, r policy.Reason) *kinesis.Error {
	msg := "User: " + principal + " is not authorized to perform: " + action + " on resource: " + resource
	switch r {
	case policy.DenyIdentityExplicit:
		msg += " with an explicit deny in an identity-based policy"
	case policy.DenyResourceExplicit:
		msg += " with an explicit deny in a resource-based policy"
	case policy.DenyNoIdentityAllow:
		msg += " because no identity-based policy allows the " + action + " action"
	case policy.DenyNoResourceAllow:
		msg += " because no resource-based policy allows the " + action + " action"
	}
	return kinesis.NewError(kinesis.ErrAccessDenied, msg)
}

// policyCache keeps documents parsed, by kind and text, so that a call
// does not parse the same policies again: parsing is most of what
// authorising costs. A parsed Policy is never modified, so callers share
// it. The cache is emptied when it reaches maxCachedPolicies, which
// bounds its memory however many documents come and go.
type policyCache struct {
	mu     sync.Mutex
	parsed map[policyKey]*policy.Policy
}

type policyKey struct {
	kind policy.Kind
	doc  string
}

const maxCachedPolicies = 1024

// parse parses a stored or attached document; none is nil. Both kinds
// were validated before they were stored, so a failure here is a fault
// of ours, and the call is refused rather than let through.
func (c *policyCache) parse(doc []byte, kind policy.Kind) (*policy.Policy, error) {
	if len(doc) == 0 {
		return nil, nil
	}
	c.mu.Lock()
	p, ok := c.parsed[policyKey{kind, string(doc)}]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse(doc, kind)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.parsed == nil || len(c.parsed) >= maxCachedPolicies {
		c.parsed = make(map[policyKey]*policy.Policy)
	}
	c.parsed[policyKey{kind, string(doc)}] = p
	c.mu.Unlock()
	return p, nil
}

// resourceOf returns the ARN of the resource a call acts on ("*" for
// none) and the scope it lives in: the caller's, or the account of an
// ARN the call names (a call across accounts, if policies allow it).
// The region is always the request's: an ARN of another region names a
// stream this endpoint does not serve, which the operation reports.
func (a *API) resourceOf(ctx context.Context, kind resourceKind, own stream.Scope, in kinesis.Input) (string, stream.Scope) {
	scopeOf := func(arn string) stream.Scope {
		if s, ok := stream.ScopeOfARN(arn); ok {
			return stream.Scope{Account: s.Account, Region: own.Region}
		}
		return own
	}
	byARN := func(arn string) (string, stream.Scope) { return arn, scopeOf(arn) }
	switch kind {
	case resStream:
		if arn := member(in, "StreamARN"); arn != "" {
			return byARN(arn)
		}
		return stream.StreamARN(own, member(in, "StreamName")), own
	case resListShards:
		if arn := member(in, "StreamARN"); arn != "" {
			return byARN(arn)
		}
		if name := member(in, "StreamName"); name != "" {
			return stream.StreamARN(own, name), own
		}
		if name, ok := a.svc.ListShardsTokenStream(own, member(in, "NextToken")); ok {
			return stream.StreamARN(own, name), own
		}
		return stream.StreamARN(own, ""), own
	case resIterator:
		// An iterator is bound to the scope it was issued in: one of
		// another account's stream is read with its StreamARN, as AWS
		// asks of calls across accounts.
		s := own
		if arn := member(in, "StreamARN"); arn != "" {
			s = scopeOf(arn)
		}
		name, _ := a.svc.IteratorStream(s, member(in, "ShardIterator"))
		return stream.StreamARN(s, name), s
	case resConsumer:
		if arn := member(in, "ConsumerARN"); arn != "" {
			return byARN(arn)
		}
		streamARN := member(in, "StreamARN")
		s := scopeOf(streamARN)
		// The consumer's ARN ends in its creation time, which only the
		// catalogue knows; a consumer that does not exist is named
		// without it, and the operation reports it missing.
		arn := streamARN + "/consumer/" + member(in, "ConsumerName")
		if c, err := a.svc.DescribeStreamConsumer(ctx, s, stream.ConsumerRef{
			StreamARN: streamARN, ConsumerName: member(in, "ConsumerName"),
		}); err == nil {
			arn = c.ConsumerARN
		}
		return arn, s
	case resResource:
		return byARN(member(in, "ResourceARN"))
	}
	return "*", own
}

// member is the string member called name of an input shape, or "".
func member(in kinesis.Input, name string) string {
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.String {
		return ""
	}
	return f.Elem().String()
}

// conditionContext is the request context conditions are evaluated
// against, by lower-cased key. aws:SourceAccount and aws:SourceArn are
// never set: they name a service calling on someone's behalf, and
// Tributary's callers are principals themselves.
func conditionContext(req *kinesis.Request, scope stream.Scope, facts stream.ResourceFacts, in kinesis.Input, now time.Time) map[string][]string {
	c := req.Caller
	ctx := map[string][]string{
		"aws:principalaccount": {c.Account},
		"aws:principalarn":     {c.ARN},
		"aws:resourceaccount":  {scope.Account},
		"aws:requestedregion":  {req.Region},
		"aws:currenttime":      {now.UTC().Format(time.RFC3339)},
		"aws:epochtime":        {strconv.FormatInt(now.Unix(), 10)},
		"aws:securetransport":  {strconv.FormatBool(req.SecureTransport)},
	}
	if c.ARN == policy.RootARN(c.Account) {
		ctx["aws:principaltype"] = []string{"Account"}
	} else {
		ctx["aws:principaltype"] = []string{"User"}
		if _, name, ok := strings.Cut(c.ARN, ":user/"); ok {
			ctx["aws:username"] = []string{name[strings.LastIndexByte(name, '/')+1:]}
		}
	}
	if a, err := netip.ParseAddr(req.SourceIP); err == nil {
		ctx["aws:sourceip"] = []string{a.Unmap().String()}
	}
	for k, v := range facts.Tags {
		ctx[policy.KeyResourceTagPrefix+strings.ToLower(k)] = []string{v}
	}
	var tags map[string]string
	var tagKeys []string
	switch x := in.(type) {
	case *kinesis.CreateStreamInput:
		tags = x.Tags
	case *kinesis.AddTagsToStreamInput:
		tags = x.Tags
	case *kinesis.TagResourceInput:
		tags = x.Tags
	case *kinesis.RegisterStreamConsumerInput:
		tags = x.Tags
	case *kinesis.RemoveTagsFromStreamInput:
		tagKeys = x.TagKeys
	case *kinesis.UntagResourceInput:
		tagKeys = x.TagKeys
	}
	for k, v := range tags {
		ctx[policy.KeyRequestTagPrefix+strings.ToLower(k)] = []string{v}
	}
	if tags != nil {
		tagKeys = slices.Sorted(maps.Keys(tags))
	}
	if len(tagKeys) > 0 {
		ctx["aws:tagkeys"] = tagKeys
	}
	return ctx
}

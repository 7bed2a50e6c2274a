package api

import (
	"context"
	"errors"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/policy"
	"github.com/tributary-io/tributary/stream"
)

// maxPolicyBytes is the size limit of a resource policy: 20 KiB, AWS's
// limit for Kinesis resource policies.
const maxPolicyBytes = 20 << 10

func (a *API) putResourcePolicy(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.PutResourcePolicyInput)
	doc := str(in.Policy)
	if len(doc) > maxPolicyBytes {
		return nil, kinesis.Errorf(kinesis.ErrLimitExceeded,
			"The resource policy is %d bytes, over the limit of %d bytes.", len(doc), maxPolicyBytes)
	}
	// A policy is validated in full before it is stored: an element,
	// condition key or operator Tributary cannot evaluate is refused here
	// rather than ignored later, which could allow what it meant to deny.
	if err := policy.Validate([]byte(doc), policy.Resource); err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return nil, kinesis.InvalidArgument("Invalid resource policy: " + pe.Msg)
		}
		return nil, err
	}
	return nil, a.svc.PutResourcePolicy(ctx, scope, str(in.ResourceARN), doc)
}

package api

import (
	"reflect"
	"strings"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/policy"
)

// Who may act on what. Streams and consumers belong to an account and a
// region (stream.Scope), and a request acts in the account of the key
// that signed it (kinesis.Request.Account) and the region of its
// signature's scope: it sees only that account's streams in that region.
//
// Naming another account's stream or consumer by ARN: with a Caller
// (serve --auth sigv4) the policies decide (authorize.go: both the
// resource policy and the caller's account must allow it, and the call
// is then served in the resource's account). Without one (--auth off,
// where there is one account and no policies), checkResourceAccount
// refuses it with AccessDeniedException, as AWS refuses a call no
// resource-based policy allows. An ARN of the caller's account but
// another region is not refused; the stream is not found there, as on
// AWS.

// refuseRegionless answers a request that has no region (it was not
// signed, so its credential gives none): nothing may be created or read
// outside a region. The front end lets such requests through only so that
// the protocol layer can report an empty body or an unknown operation as
// AWS does before the signature; every other one ends here.
func refuseRegionless(req *kinesis.Request) *kinesis.Error {
	if req.Region != "" {
		return nil
	}
	return kinesis.MissingAuthenticationToken()
}

// resourceARNMembers are the input members that name a resource by ARN.
var resourceARNMembers = []string{"StreamARN", "ConsumerARN", "ResourceARN"}

// checkResourceAccount refuses a call without a Caller whose input
// names, by ARN, a resource of an account other than the request's.
func checkResourceAccount(op string, req *kinesis.Request, in kinesis.Input) *kinesis.Error {
	if req.Caller != nil {
		return nil // authorize decides
	}
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	v = v.Elem()
	for _, member := range resourceARNMembers {
		f := v.FieldByName(member)
		if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.String {
			continue
		}
		arn := f.Elem().String()
		if account, ok := arnAccount(arn); ok && account != req.Account {
			return accessDenied("arn:aws:iam::"+req.Account+":root", "kinesis:"+op, arn, policy.DenyNoResourceAllow)
		}
	}
	return nil
}

// arnAccount returns the account field of an ARN
// (arn:partition:service:region:account:resource).
func arnAccount(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", false
	}
	return parts[4], true
}

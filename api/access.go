package api

import (
	"reflect"
	"strings"

	"github.com/tributary-io/tributary/kinesis"
)

// Who may act on what. Streams and consumers belong to an account and a
// region (stream.Scope), and a request acts in the account of the key
// that signed it (kinesis.Request.Account) and the region of its
// signature's scope: it sees only that account's streams in that region.
//
// Naming another account's stream or consumer by ARN is refused here,
// with AccessDeniedException, as AWS refuses it when no resource-based
// policy grants the access. This is the one place where a request meets
// a resource of another account: when resource policies come, their
// evaluation replaces checkResourceAccount, and a granted request then
// goes on in the resource's account. An ARN of the caller's account but
// another region is not refused here; the stream is not found there, as
// on AWS.

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

// checkResourceAccount refuses a call whose input names, by ARN, a
// resource of an account other than the caller's.
func checkResourceAccount(op string, req *kinesis.Request, in kinesis.Input) *kinesis.Error {
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
			return accessDenied(op, req, arn)
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

// callerARN is the principal of a request: the signing key's, or the
// account's root when signatures are not verified.
func callerARN(req *kinesis.Request) string {
	if req.Caller != nil {
		return req.Caller.ARN
	}
	return "arn:aws:iam::" + req.Account + ":root"
}

// accessDenied is AWS's answer to a call on another account's resource
// that no resource-based policy allows.
func accessDenied(op string, req *kinesis.Request, resourceARN string) *kinesis.Error {
	action := "kinesis:" + op
	return kinesis.Errorf(kinesis.ErrAccessDenied,
		"User: %s is not authorized to perform: %s on resource: %s because no resource-based policy allows the %s action",
		callerARN(req), action, resourceARN, action)
}

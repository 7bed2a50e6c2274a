package policy

import "testing"

// TestConditions evaluates one condition against request contexts; each
// row is a statement Allow with that condition, on a request with ctx.
func TestConditions(t *testing.T) {
	ctx := map[string][]string{
		"aws:principalaccount": {acctB},
		"aws:principalarn":     {bob},
		"aws:currenttime":      {"2026-12-03T18:00:00Z"},
		"aws:epochtime":        {"1796320800"},
		"aws:securetransport":  {"true"},
		"aws:sourceip":         {"192.0.2.10"},
		"aws:requestedregion":  {"us-east-1"},
		"aws:tagkeys":          {"env", "team"},
		"aws:resourcetag/env":  {"prod"},
	}
	tests := []struct {
		cond string
		want bool
	}{
		{`"StringEquals":{"aws:PrincipalAccount":"444455556666"}`, true},
		{`"StringEquals":{"aws:PrincipalAccount":["1","444455556666"]}`, true},
		{`"StringEquals":{"aws:PrincipalAccount":"111122223333"}`, false},
		{`"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}`, true},
		{`"StringNotEquals":{"aws:PrincipalAccount":["111122223333","444455556666"]}`, false},
		{`"StringEqualsIgnoreCase":{"aws:RequestedRegion":"US-EAST-1"}`, true},
		{`"StringEquals":{"aws:RequestedRegion":"US-EAST-1"}`, false},
		{`"StringNotEqualsIgnoreCase":{"aws:RequestedRegion":"US-EAST-1"}`, false},
		{`"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/b?b"}`, true},
		{`"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/b*"}`, false},
		{`"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::444455556666:user/*"}`, true},
		{`"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::*:user/bob"}`, true},
		{`"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::444455556666:*"}`, true},
		// A wildcard does not run from one component into the next.
		{`"ArnLike":{"aws:PrincipalArn":"arn:aws:*:user/bob"}`, false},
		{`"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:*"}`, true},
		{`"ArnNotEquals":{"aws:PrincipalArn":"` + bob + `"}`, false},
		{`"Bool":{"aws:SecureTransport":"true"}`, true},
		{`"Bool":{"aws:SecureTransport":false}`, false},
		{`"NumericLessThan":{"aws:EpochTime":1796320801}`, true},
		{`"NumericLessThan":{"aws:EpochTime":1796320800}`, false},
		{`"NumericLessThanEquals":{"aws:EpochTime":1796320800}`, true},
		{`"NumericGreaterThan":{"aws:EpochTime":"1796320799.5"}`, true},
		{`"NumericGreaterThanEquals":{"aws:EpochTime":1796320801}`, false},
		{`"NumericEquals":{"aws:EpochTime":1796320800}`, true},
		{`"NumericNotEquals":{"aws:EpochTime":1796320800}`, false},
		{`"DateLessThan":{"aws:CurrentTime":"2027-01-01"}`, true},
		{`"DateGreaterThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}`, false},
		{`"DateGreaterThanEquals":{"aws:CurrentTime":"1796320800"}`, true},
		{`"DateEquals":{"aws:CurrentTime":"2026-12-03T19:00:00+01:00"}`, true},
		{`"DateNotEquals":{"aws:CurrentTime":"2026-12-03T18:00:00Z"}`, false},
		{`"DateLessThanEquals":{"aws:CurrentTime":"2026-12-03T18:00:00Z"}`, true},
		{`"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}`, true},
		{`"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.10"]}`, true},
		{`"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}`, false},
		{`"IpAddress":{"aws:SourceIp":"2001:db8::/32"}`, false},
		// Keys absent from the request: aws:SourceAccount, aws:SourceArn
		// (no service calls on anyone's behalf) and aws:username.
		{`"StringEquals":{"aws:SourceAccount":"444455556666"}`, false},
		{`"StringNotEquals":{"aws:SourceAccount":"444455556666"}`, true},
		{`"ArnLike":{"aws:SourceArn":"*"}`, false},
		{`"StringEqualsIfExists":{"aws:SourceAccount":"1"}`, true},
		{`"StringEqualsIfExists":{"aws:PrincipalAccount":"1"}`, false},
		{`"Null":{"aws:SourceAccount":"true"}`, true},
		{`"Null":{"aws:SourceAccount":"false"}`, false},
		{`"Null":{"aws:SourceIp":"true"}`, false},
		// Multi-valued keys.
		{`"ForAllValues:StringEquals":{"aws:TagKeys":["env","team","owner"]}`, true},
		{`"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}`, false},
		{`"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}`, true},
		{`"ForAnyValue:StringEquals":{"aws:TagKeys":["owner"]}`, false},
		{`"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}`, true},
		{`"ForAllValues:StringNotEquals":{"aws:TagKeys":["env"]}`, false},
		{`"ForAllValues:StringEquals":{"aws:RequestTag/x":["a"]}`, true},
		{`"ForAnyValue:StringEquals":{"aws:RequestTag/x":["a"]}`, false},
		{`"ForAnyValue:StringLikeIfExists":{"aws:RequestTag/x":["a"]}`, true},
		{`"StringEquals":{"aws:ResourceTag/env":"prod"}`, true},
		{`"StringEquals":{"aws:ResourceTag/ENV":"prod"}`, true},
		{`"StringEquals":{"aws:ResourceTag/team":"prod"}`, false},
		// Several conditions: all must hold.
		{`"StringEquals":{"aws:PrincipalAccount":"444455556666","aws:RequestedRegion":"eu-west-1"}`, false},
		{`"StringEquals":{"aws:PrincipalAccount":"444455556666"},"Bool":{"aws:SecureTransport":"true"}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{`+tc.cond+`}}}`, Identity)
			req := Request{Action: "kinesis:PutRecord", Resource: strA, ResourceAccount: acctB, PrincipalAccount: acctB, PrincipalARN: bob, Context: ctx}
			if got := Evaluate(req, p, nil) == Allowed; got != tc.want {
				t.Fatalf("condition holds = %v, want %v", got, tc.want)
			}
		})
	}
}

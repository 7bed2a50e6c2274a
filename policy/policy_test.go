package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Id":"x","Statement":[
		{"Sid":"a","Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:user/path/bob","*"]},
		 "Action":["kinesis:PutRecord","kinesis:Get*"],"Resource":"arn:aws:kinesis:us-east-1:111122223333:stream/s",
		 "Condition":{"StringEquals":{"aws:PrincipalAccount":"444455556666"},"Bool":{"aws:SecureTransport":false},
		              "NumericLessThan":{"aws:EpochTime":2000000000}}},
		{"Effect":"Deny","NotPrincipal":"*","NotAction":"kinesis:*","NotResource":["*"]}]}`, Resource)
	if p.Version != Version2012 || p.ID != "x" || len(p.Statements) != 2 {
		t.Fatalf("policy = %+v", p)
	}
	s := p.Statements[0]
	if s.Sid != "a" || s.Effect != Allow || !s.Principals.Any ||
		!slices.Equal(s.Principals.AWS, []string{"arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:user/path/bob"}) ||
		!slices.Equal(s.Actions, []string{"kinesis:PutRecord", "kinesis:Get*"}) || len(s.Conditions) != 3 {
		t.Fatalf("statement 0 = %+v", s)
	}
	if c := s.Conditions[0]; c.Operator != "Bool" || c.Key != "aws:securetransport" || !slices.Equal(c.Values, []string{"false"}) {
		t.Fatalf("condition 0 = %+v", c)
	}
	if c := s.Conditions[1]; c.Operator != "NumericLessThan" || !slices.Equal(c.Values, []string{"2000000000"}) {
		t.Fatalf("condition 1 = %+v", c)
	}
	s = p.Statements[1]
	if s.Effect != Deny || !s.NotPrincipal || !s.NotAction || !s.NotResource {
		t.Fatalf("statement 1 = %+v", s)
	}
	if p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, Identity); p.Version != Version2008 {
		t.Fatalf("default version = %q", p.Version)
	}
}

func TestParseInvalid(t *testing.T) {
	const ok = `"Effect":"Allow","Action":"kinesis:PutRecord","Resource":"*"`
	tests := []struct {
		name, doc string
		kind      Kind
		want      string // a part of the message
	}{
		{"not JSON", `{`, Identity, "not a JSON object"},
		{"array", `[]`, Identity, "not a JSON object"},
		{"trailing data", `{"Statement":{` + ok + `}} {}`, Identity, "data after"},
		{"empty object", `{}`, Identity, "no Statement"},
		{"duplicate member", `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Effect":"Allow"}}`, Identity, `member "Effect" appears twice`},
		{"duplicate member deep", `{"Statement":[{` + ok + `,"Condition":{"StringEquals":{"aws:username":"a","aws:username":"b"}}}]}`, Identity, `member "aws:username" appears twice`},
		{"unknown element", `{"Statement":{` + ok + `},"Foo":1}`, Identity, `unknown element "Foo"`},
		{"bad version", `{"Version":"2020-01-01","Statement":{` + ok + `}}`, Identity, "Version"},
		{"empty statements", `{"Statement":[]}`, Identity, "must not be empty"},
		{"statement not object", `{"Statement":["x"]}`, Identity, "Statement[0]: a statement must be a JSON object"},
		{"no effect", `{"Statement":{"Action":"*","Resource":"*"}}`, Identity, "Effect is missing"},
		{"bad effect", `{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, Identity, "must be Allow or Deny"},
		{"no action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, Identity, "Action and NotAction"},
		{"action and notaction", `{"Statement":{` + ok + `,"NotAction":"x:y"}}`, Identity, "Action and NotAction"},
		{"no resource", `{"Statement":{"Effect":"Allow","Action":"*"}}`, Identity, "Resource and NotResource"},
		{"bad action", `{"Statement":{"Effect":"Allow","Action":"PutRecord","Resource":"*"}}`, Identity, "service:action"},
		{"empty action list", `{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, Identity, "must not be empty"},
		{"bad resource", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"stream/s"}}`, Identity, "not \"*\" or an ARN"},
		{"policy variable", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:kinesis:*:*:stream/${aws:username}"}}`, Identity, "policy variable"},
		{"duplicate sid", `{"Statement":[{"Sid":"a",` + ok + `},{"Sid":"a",` + ok + `}]}`, Identity, "not unique"},
		{"principal in identity policy", `{"Statement":{` + ok + `,"Principal":"*"}}`, Identity, "identity policy cannot name"},
		{"no principal in resource policy", `{"Statement":{` + ok + `}}`, Resource, "must name a Principal"},
		{"principal and notprincipal", `{"Statement":{` + ok + `,"Principal":"*","NotPrincipal":"*"}}`, Resource, "both Principal and NotPrincipal"},
		{"service principal", `{"Statement":{` + ok + `,"Principal":{"Service":"lambda.amazonaws.com"}}}`, Resource, `"Service" is not supported`},
		{"bad principal", `{"Statement":{` + ok + `,"Principal":{"AWS":"alice"}}}`, Resource, "not an account id"},
		{"role principal", `{"Statement":{` + ok + `,"Principal":{"AWS":"arn:aws:iam::111122223333:role/r"}}}`, Resource, "not an account id"},
		{"principal string", `{"Statement":{` + ok + `,"Principal":"111122223333"}}`, Resource, `must be "*"`},
		{"unsupported key", `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}}`, Identity, `key "aws:SourceVpc" is not supported`},
		{"unsupported kinesis key", `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"kinesis:StreamName":"s"}}}}`, Identity, "is not supported"},
		{"unsupported operator", `{"Statement":{` + ok + `,"Condition":{"BinaryEquals":{"aws:username":"x"}}}}`, Identity, `operator "BinaryEquals" is not supported`},
		{"operator and key mismatch", `{"Statement":{` + ok + `,"Condition":{"NumericEquals":{"aws:username":"1"}}}}`, Identity, "cannot be used with key"},
		{"bad number", `{"Statement":{` + ok + `,"Condition":{"NumericEquals":{"aws:EpochTime":"soon"}}}}`, Identity, "not a number"},
		{"bad date", `{"Statement":{` + ok + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}}`, Identity, "not a date"},
		{"bad bool", `{"Statement":{` + ok + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}}}`, Identity, "not true or false"},
		{"bad cidr", `{"Statement":{` + ok + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}}`, Identity, "not an IP address"},
		{"empty values", `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"aws:username":[]}}}}`, Identity, "no values"},
		{"null with set prefix", `{"Statement":{` + ok + `,"Condition":{"ForAnyValue:Null":{"aws:TagKeys":"true"}}}}`, Identity, "not supported"},
		{"empty tag key", `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"aws:ResourceTag/":"x"}}}}`, Identity, "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate([]byte(tc.doc), tc.kind)
			var pe *Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Msg, tc.want) {
				t.Fatalf("Validate = %v, want an *Error containing %q", err, tc.want)
			}
		})
	}
}

// FuzzParse checks that no document makes Parse panic, and that one it
// accepts can be evaluated.
func FuzzParse(f *testing.F) {
	for _, s := range []string{allowPut, denyPut, resAllowAcctB, resDenyNotBob,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*"]},"Null":{"aws:SourceIp":"false"}}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, kind := range []Kind{Identity, Resource} {
			p, err := Parse(doc, kind)
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("Parse error %T, want *Error", err)
				}
				continue
			}
			req := Request{Action: "kinesis:PutRecord", Resource: strA, ResourceAccount: acctA, PrincipalAccount: acctB, PrincipalARN: bob,
				Context: map[string][]string{"aws:tagkeys": {"a", "b"}, "aws:sourceip": {"10.1.2.3"}, "aws:currenttime": {"2026-01-01T00:00:00Z"}}}
			if kind == Identity {
				Evaluate(req, p, nil)
			} else {
				Evaluate(req, nil, p)
			}
		}
	})
}

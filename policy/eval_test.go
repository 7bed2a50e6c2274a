package policy

import "testing"

const (
	acctA = "111122223333"
	acctB = "444455556666"
	alice = "arn:aws:iam::111122223333:user/alice"
	bob   = "arn:aws:iam::444455556666:user/bob"
	rootA = "arn:aws:iam::111122223333:root"
	rootB = "arn:aws:iam::444455556666:root"
	strA  = "arn:aws:kinesis:us-east-1:111122223333:stream/s"
)

func mustParse(t *testing.T, doc string, kind Kind) *Policy {
	t.Helper()
	if doc == "" {
		return nil
	}
	p, err := Parse([]byte(doc), kind)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

const (
	allowPut      = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kinesis:PutRecord","Resource":"*"}}`
	allowAllKin   = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}}`
	denyPut       = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"kinesis:PutRecord","Resource":"*"}]}`
	resAllowAlice = `{"Statement":{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kinesis:PutRecord","Resource":"` + strA + `"}}`
	resAllowAcctA = `{"Statement":{"Effect":"Allow","Principal":{"AWS":"` + acctA + `"},"Action":"kinesis:PutRecord","Resource":"` + strA + `"}}`
	resAllowBob   = `{"Statement":{"Effect":"Allow","Principal":{"AWS":"` + bob + `"},"Action":"kinesis:PutRecord","Resource":"` + strA + `"}}`
	resAllowAcctB = `{"Statement":{"Effect":"Allow","Principal":{"AWS":["` + acctB + `"]},"Action":"kinesis:Put*","Resource":"` + strA + `"}}`
	resAllowStar  = `{"Statement":{"Effect":"Allow","Principal":"*","Action":"kinesis:PutRecord","Resource":"*"}}`
	resDenyAcctA  = `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"` + rootA + `"},"Action":"kinesis:PutRecord","Resource":"*"}]}`
	resDenyNotBob = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"},{"Effect":"Deny","NotPrincipal":{"AWS":"` + bob + `"},"Action":"kinesis:PutRecord","Resource":"*"}]}`
)

// TestEvaluateRules has, for every rule of Evaluate, cases where that
// rule decides the outcome.
func TestEvaluateRules(t *testing.T) {
	tests := []struct {
		name               string
		caller, callerAcct string
		identity, resource string
		want               Reason
	}{
		// Rule 1: an explicit Deny wins over any Allow.
		{"identity deny beats identity allow", alice, acctA, denyPut, resAllowAlice, DenyIdentityExplicit},
		{"identity deny binds the root too", rootA, acctA, denyPut, "", DenyIdentityExplicit},
		{"resource deny by account binds its users", alice, acctA, allowAllKin, resDenyAcctA, DenyResourceExplicit},
		{"resource deny binds the root", rootA, acctA, "", resDenyAcctA, DenyResourceExplicit},
		{"NotPrincipal deny binds everyone else", alice, acctA, allowAllKin, resDenyNotBob, DenyResourceExplicit},
		// Rule 2: same account.
		{"root without policies", rootA, acctA, "", "", Allowed},
		{"user without policies", alice, acctA, "", "", DenyNoIdentityAllow},
		{"user allowed by identity policy", alice, acctA, allowPut, "", Allowed},
		{"identity policy for another action", alice, acctA, `{"Statement":{"Effect":"Allow","Action":"kinesis:GetRecords","Resource":"*"}}`, "", DenyNoIdentityAllow},
		{"user allowed by resource policy alone", alice, acctA, "", resAllowAlice, Allowed},
		{"resource policy with * allows alone", alice, acctA, "", resAllowStar, Allowed},
		{"resource policy naming the account delegates", alice, acctA, "", resAllowAcctA, DenyNoIdentityAllow},
		{"resource policy for someone else", alice, acctA, "", resAllowBob, DenyNoIdentityAllow},
		// Rule 3: across accounts.
		{"cross-account with both sides", bob, acctB, allowPut, resAllowBob, Allowed},
		{"cross-account by account grant", bob, acctB, allowAllKin, resAllowAcctB, Allowed},
		{"cross-account root by account grant", rootB, acctB, "", resAllowAcctB, Allowed},
		{"cross-account without resource policy", bob, acctB, allowAllKin, "", DenyNoResourceAllow},
		{"cross-account root without resource policy", rootB, acctB, "", "", DenyNoResourceAllow},
		{"cross-account resource policy names another", bob, acctB, allowAllKin, resAllowAlice, DenyNoResourceAllow},
		{"cross-account without identity policy", bob, acctB, "", resAllowBob, DenyNoIdentityAllow},
		{"cross-account NotPrincipal exempts the named", bob, acctB, allowAllKin, resDenyNotBob, Allowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{
				Action: "kinesis:PutRecord", Resource: strA, ResourceAccount: acctA,
				PrincipalAccount: tc.callerAcct, PrincipalARN: tc.caller,
			}
			got := Evaluate(req, mustParse(t, tc.identity, Identity), mustParse(t, tc.resource, Resource))
			if got != tc.want {
				t.Fatalf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEvaluateMatching covers Action, NotAction, Resource and
// NotResource with wildcards, and their case rules.
func TestEvaluateMatching(t *testing.T) {
	tests := []struct {
		stmt     string
		action   string
		resource string
		want     Reason
	}{
		{`"Action":"KINESIS:putrecord","Resource":"*"`, "kinesis:PutRecord", strA, Allowed},
		{`"Action":"kinesis:Put?ecord","Resource":"*"`, "kinesis:PutRecord", strA, Allowed},
		{`"Action":"kinesis:Get*","Resource":"*"`, "kinesis:PutRecord", strA, DenyNoIdentityAllow},
		{`"NotAction":"kinesis:Get*","Resource":"*"`, "kinesis:PutRecord", strA, Allowed},
		{`"NotAction":["kinesis:Put*"],"Resource":"*"`, "kinesis:PutRecord", strA, DenyNoIdentityAllow},
		{`"Action":"*","Resource":"arn:aws:kinesis:*:111122223333:stream/*"`, "kinesis:PutRecord", strA, Allowed},
		{`"Action":"*","Resource":"arn:aws:kinesis:us-east-1:111122223333:stream/S"`, "kinesis:PutRecord", strA, DenyNoIdentityAllow},
		{`"Action":"*","Resource":"arn:aws:kinesis:us-east-1:111122223333:stream/?"`, "kinesis:PutRecord", strA, Allowed},
		{`"Action":"*","NotResource":"arn:aws:kinesis:*:*:stream/other"`, "kinesis:PutRecord", strA, Allowed},
		{`"Action":"*","NotResource":"arn:aws:kinesis:*:*:stream/s"`, "kinesis:PutRecord", strA, DenyNoIdentityAllow},
		{`"Action":"kinesis:ListStreams","Resource":"*"`, "kinesis:ListStreams", "*", Allowed},
		{`"Action":"kinesis:ListStreams","Resource":"arn:aws:kinesis:*:*:stream/*"`, "kinesis:ListStreams", "*", DenyNoIdentityAllow},
	}
	for _, tc := range tests {
		t.Run(tc.stmt, func(t *testing.T) {
			id := mustParse(t, `{"Statement":{"Effect":"Allow",`+tc.stmt+`}}`, Identity)
			req := Request{Action: tc.action, Resource: tc.resource, ResourceAccount: acctA, PrincipalAccount: acctA, PrincipalARN: alice}
			if got := Evaluate(req, id, nil); got != tc.want {
				t.Fatalf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold, want bool
	}{
		{"*", "", false, true},
		{"a*b", "ab", false, true},
		{"a*b", "axxb", false, true},
		{"a*b", "axxbc", false, false},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
		{"ABC", "abc", false, false},
		{"ABC", "abc", true, true},
		{"", "", false, true},
		{"", "x", false, false},
	}
	for _, tc := range tests {
		if got := wildcard(tc.pattern, tc.s, tc.fold); got != tc.want {
			t.Errorf("wildcard(%q, %q, %v) = %v, want %v", tc.pattern, tc.s, tc.fold, got, tc.want)
		}
	}
}

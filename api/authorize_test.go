package api

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/policy"
	"github.com/tributary-io/tributary/storage/local"
	"github.com/tributary-io/tributary/stream"
)

const (
	owner     = "000000000000"
	other     = "444455556666"
	ownerRoot = "arn:aws:iam::000000000000:root"
	alice     = "arn:aws:iam::000000000000:user/alice"
	bob       = "arn:aws:iam::444455556666:user/bob"
	otherRoot = "arn:aws:iam::444455556666:root"
)

// who builds a Caller: arn's account is the one in the ARN.
func who(arn, identity string) *kinesis.Caller {
	acct := strings.Split(arn, ":")[4]
	c := &kinesis.Caller{AccessKeyID: "AKIA" + acct, Account: acct, ARN: arn}
	if identity != "" {
		c.Policy = []byte(identity)
	}
	return c
}

func callAs(a *API, c *kinesis.Caller, op, body string) *kinesis.Response {
	return a.Handle(context.Background(), &kinesis.Request{
		Target:      kinesis.TargetPrefix + op,
		ContentType: kinesis.ContentTypeJSON,
		Body:        []byte(body),
		Region:      "us-east-1",
		Account:     c.Account,
		Caller:      c,
		SourceIP:    "192.0.2.7",
	})
}

func mustOK(t *testing.T, r *kinesis.Response, what string) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%s: %d %s", what, r.Status, r.Body)
	}
}

func denied(principal, action, resource, why string) string {
	return `{"__type":"AccessDeniedException","message":"User: ` + principal + ` is not authorized to perform: ` + action +
		` on resource: ` + resource + why + `"}`
}

// putPolicy attaches doc to arn as the owner's root.
func putPolicy(t *testing.T, a *API, arn, doc string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"ResourceARN": arn, "Policy": doc})
	mustOK(t, callAs(a, who(ownerRoot, ""), kinesis.OpPutResourcePolicy, string(body)), "PutResourcePolicy")
}

func TestResourcesCoverOperations(t *testing.T) {
	for _, op := range kinesis.Operations() {
		if _, ok := resources[op]; !ok {
			t.Errorf("%s has no resource in the authorisation table", op)
		}
	}
	if len(resources) != len(kinesis.Operations()) {
		t.Errorf("the authorisation table has %d operations, the wire %d", len(resources), len(kinesis.Operations()))
	}
}

const (
	allowAll     = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}}`
	allowPutOnly = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["kinesis:PutRecord","kinesis:DescribeStreamSummary"],"Resource":"arn:aws:kinesis:*:*:stream/s"}}`
	denyPut      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"},{"Effect":"Deny","Action":"kinesis:PutRecord","Resource":"*"}]}`
	putBody      = `{"StreamName":"s","PartitionKey":"k","Data":"aGk="}`
	putARNBody   = `{"StreamARN":"` + testARN + `","PartitionKey":"k","Data":"aGk="}`
)

// TestAuthorizeRules checks each rule of the evaluation as the wire
// answers it, in AWS's words.
func TestAuthorizeRules(t *testing.T) {
	a, _ := newTestAPI(t)
	mustOK(t, callAs(a, who(ownerRoot, ""), kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), "CreateStream")
	mustOK(t, callAs(a, who(ownerRoot, ""), kinesis.OpCreateStream, `{"StreamName":"t","ShardCount":1}`), "CreateStream t")
	putPolicy(t, a, testARN, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"`+bob+`"},"Action":["kinesis:PutRecord","kinesis:DescribeStreamSummary"],"Resource":"`+testARN+`"},
		{"Effect":"Deny","Principal":{"AWS":"`+alice+`"},"Action":"kinesis:PutRecords","Resource":"*"}]}`)
	tARN := strings.Replace(testARN, "stream/s", "stream/t", 1)

	tests := []struct {
		name       string
		caller     *kinesis.Caller
		op, body   string
		status     int
		wantInBody string // exact body when it starts with "{"
	}{
		{"owner's root needs no policy", who(ownerRoot, ""), kinesis.OpPutRecord, putBody, 200, ""},
		{"user without policy", who(alice, ""), kinesis.OpPutRecord, putBody, 400,
			denied(alice, "kinesis:PutRecord", testARN, " because no identity-based policy allows the kinesis:PutRecord action")},
		{"user allowed by identity policy", who(alice, allowPutOnly), kinesis.OpPutRecord, putBody, 200, ""},
		{"identity policy's resource does not match", who(alice, allowPutOnly), kinesis.OpPutRecord, `{"StreamName":"t","PartitionKey":"k","Data":"aGk="}`, 400,
			denied(alice, "kinesis:PutRecord", tARN, " because no identity-based policy allows the kinesis:PutRecord action")},
		{"explicit deny in identity policy", who(alice, denyPut), kinesis.OpPutRecord, putBody, 400,
			denied(alice, "kinesis:PutRecord", testARN, " with an explicit deny in an identity-based policy")},
		{"explicit deny in resource policy", who(alice, allowAll), kinesis.OpPutRecords, `{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"aGk="}]}`, 400,
			denied(alice, "kinesis:PutRecords", testARN, " with an explicit deny in a resource-based policy")},
		{"cross-account with both sides", who(bob, allowAll), kinesis.OpPutRecord, putARNBody, 200, ""},
		{"cross-account without identity policy", who(bob, ""), kinesis.OpPutRecord, putARNBody, 400,
			denied(bob, "kinesis:PutRecord", testARN, " because no identity-based policy allows the kinesis:PutRecord action")},
		{"cross-account action the resource policy lacks", who(bob, allowAll), kinesis.OpListShards, `{"StreamARN":"` + testARN + `"}`, 400,
			denied(bob, "kinesis:ListShards", testARN, " because no resource-based policy allows the kinesis:ListShards action")},
		{"cross-account stream without policy", who(bob, allowAll), kinesis.OpDescribeStreamSummary, `{"StreamARN":"` + tARN + `"}`, 400,
			denied(bob, "kinesis:DescribeStreamSummary", tARN, " because no resource-based policy allows the kinesis:DescribeStreamSummary action")},
		{"cross-account stream that does not exist", who(bob, allowAll), kinesis.OpDescribeStreamSummary, `{"StreamARN":"` + strings.Replace(testARN, "stream/s", "stream/nope", 1) + `"}`, 400,
			denied(bob, "kinesis:DescribeStreamSummary", strings.Replace(testARN, "stream/s", "stream/nope", 1), " because no resource-based policy allows the kinesis:DescribeStreamSummary action")},
		{"cross-account root by account", who(otherRoot, ""), kinesis.OpPutRecord, putARNBody, 400,
			denied(otherRoot, "kinesis:PutRecord", testARN, " because no resource-based policy allows the kinesis:PutRecord action")},
		{"by name is the caller's own account", who(bob, allowAll), kinesis.OpPutRecord, putBody, 400,
			`{"__type":"ResourceNotFoundException","message":"Stream s under account 444455556666 not found."}`},
		{"no resource: policy must say *", who(alice, allowPutOnly), kinesis.OpListStreams, `{}`, 400,
			denied(alice, "kinesis:ListStreams", "*", " because no identity-based policy allows the kinesis:ListStreams action")},
		{"no resource allowed by *", who(alice, allowAll), kinesis.OpDescribeLimits, `{}`, 200, ""},
		{"policies are not asked of the other account's own", who(otherRoot, ""), kinesis.OpListStreams, `{}`, 200, `{"StreamNames":[],"HasMoreStreams":false,"StreamSummaries":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := callAs(a, tc.caller, tc.op, tc.body)
			if r.Status != tc.status || (strings.HasPrefix(tc.wantInBody, "{") && string(r.Body) != tc.wantInBody) {
				t.Fatalf("got %d %s\nwant %d %s", r.Status, r.Body, tc.status, tc.wantInBody)
			}
		})
	}
}

// TestCrossAccountServedInTheResourceAccount: a call on another account's
// stream that both sides allow reaches that stream (the owner reads what
// bob wrote), while the same ARN without a caller (--auth off) is not
// found, as before.
func TestCrossAccountServedInTheResourceAccount(t *testing.T) {
	a, _ := newTestAPI(t)
	mustOK(t, callAs(a, who(ownerRoot, ""), kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), "CreateStream")
	putPolicy(t, a, testARN, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"`+other+`"},"Action":"kinesis:*","Resource":"`+testARN+`"}}`)
	bobC := who(bob, allowAll)

	mustOK(t, callAs(a, bobC, kinesis.OpPutRecord, `{"StreamARN":"`+testARN+`","PartitionKey":"k","Data":"Ym9i"}`), "bob's PutRecord")
	r := callAs(a, bobC, kinesis.OpGetShardIterator, `{"StreamARN":"`+testARN+`","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)
	var it struct{ ShardIterator string }
	if r.Status != 200 || json.Unmarshal(r.Body, &it) != nil {
		t.Fatalf("bob's GetShardIterator: %d %s", r.Status, r.Body)
	}
	// The iterator was issued in the owner's scope: bob reads with it by
	// giving the StreamARN, as AWS asks of a reader in another account.
	r = callAs(a, bobC, kinesis.OpGetRecords, `{"ShardIterator":"`+it.ShardIterator+`","StreamARN":"`+testARN+`"}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"Data":"Ym9i"`) {
		t.Fatalf("bob's GetRecords: %d %s", r.Status, r.Body)
	}
	// The owner sees the record bob wrote.
	r = call(a, kinesis.ContentTypeJSON, kinesis.OpGetShardIterator, `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)
	if json.Unmarshal(r.Body, &it) != nil {
		t.Fatalf("owner's GetShardIterator: %s", r.Body)
	}
	r = call(a, kinesis.ContentTypeJSON, kinesis.OpGetRecords, `{"ShardIterator":"`+it.ShardIterator+`"}`)
	if !strings.Contains(string(r.Body), `"Data":"Ym9i"`) {
		t.Fatalf("owner's GetRecords: %s", r.Body)
	}
	// Without a caller, policies are not consulted and another account's
	// stream stays out of reach (access.go's checkResourceAccount).
	r = a.Handle(context.Background(), &kinesis.Request{Target: kinesis.TargetPrefix + kinesis.OpPutRecord, ContentType: kinesis.ContentTypeJSON,
		Body: []byte(`{"StreamARN":"` + testARN + `","PartitionKey":"k","Data":"Ym9i"}`), Region: "us-east-1", Account: other})
	wantResponse(t, r, 400, denied(policy.RootARN(other), "kinesis:PutRecord", testARN,
		" because no resource-based policy allows the kinesis:PutRecord action"))
	// Another region's ARN is not served here, whatever the policies.
	euARN := strings.Replace(testARN, "us-east-1", "eu-west-1", 1)
	putPolicy(t, a, testARN, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}}`)
	wantResponse(t, callAs(a, bobC, kinesis.OpDescribeStreamSummary, `{"StreamARN":"`+euARN+`"}`), 400,
		`{"__type":"ResourceNotFoundException","message":"Stream s under account 000000000000 not found."}`)
	// Only the owner's account manages the policy, whatever it says.
	body, _ := json.Marshal(map[string]string{"ResourceARN": testARN, "Policy": `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`})
	wantResponse(t, callAs(a, bobC, kinesis.OpPutResourcePolicy, string(body)), 400,
		denied(bob, "kinesis:PutResourcePolicy", testARN, " because only the account that owns the resource may"))
	wantResponse(t, callAs(a, bobC, kinesis.OpGetResourcePolicy, `{"ResourceARN":"`+testARN+`"}`), 400,
		denied(bob, "kinesis:GetResourcePolicy", testARN, " because only the account that owns the resource may"))
}

// TestAuthorizeGetRecordsByIterator: GetRecords is checked against the
// stream its iterator names.
func TestAuthorizeGetRecordsByIterator(t *testing.T) {
	a, _ := newTestAPI(t)
	mustOK(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), "CreateStream")
	onlyIterators := `{"Statement":[{"Effect":"Allow","Action":"kinesis:GetShardIterator","Resource":"*"},
		{"Effect":"Allow","Action":"kinesis:GetRecords","Resource":"arn:aws:kinesis:*:*:stream/other"}]}`
	c := who(alice, onlyIterators)
	r := callAs(a, c, kinesis.OpGetShardIterator, `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)
	var it struct{ ShardIterator string }
	if r.Status != 200 || json.Unmarshal(r.Body, &it) != nil {
		t.Fatalf("GetShardIterator: %d %s", r.Status, r.Body)
	}
	wantResponse(t, callAs(a, c, kinesis.OpGetRecords, `{"ShardIterator":"`+it.ShardIterator+`"}`), 400,
		denied(alice, "kinesis:GetRecords", testARN, " because no identity-based policy allows the kinesis:GetRecords action"))
	mustOK(t, callAs(a, who(alice, allowAll), kinesis.OpGetRecords, `{"ShardIterator":"`+it.ShardIterator+`"}`), "GetRecords allowed")
}

// TestAuthorizeConsumerResource: SubscribeToShard and
// DescribeStreamConsumer act on the consumer, whose own policy counts.
func TestAuthorizeConsumerResource(t *testing.T) {
	a, _ := newTestAPI(t)
	arn := setupConsumer(t, a)
	onStream := `{"Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"` + testARN + `"}}`
	for _, tc := range []struct{ op, body string }{
		{kinesis.OpSubscribeToShard, subscribeBody(arn)},
		{kinesis.OpDescribeStreamConsumer, `{"ConsumerARN":"` + arn + `"}`},
		{kinesis.OpDescribeStreamConsumer, `{"StreamARN":"` + testARN + `","ConsumerName":"c"}`},
	} {
		wantResponse(t, callAs(a, who(alice, onStream), tc.op, tc.body), 400,
			denied(alice, "kinesis:"+tc.op, arn, " because no identity-based policy allows the kinesis:"+tc.op+" action"))
	}
	// The consumer's policy grants alice what the stream's ARN did not.
	putPolicy(t, a, arn, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"`+alice+`"},"Action":"kinesis:DescribeStreamConsumer","Resource":"`+arn+`"}}`)
	mustOK(t, callAs(a, who(alice, ""), kinesis.OpDescribeStreamConsumer, `{"ConsumerARN":"`+arn+`"}`), "DescribeStreamConsumer")
	// The stream's policy does not extend to its consumers.
	putPolicy(t, a, testARN, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"`+alice+`"},"Action":"kinesis:*","Resource":"*"}}`)
	wantResponse(t, callAs(a, who(alice, ""), kinesis.OpSubscribeToShard, subscribeBody(arn)), 400,
		denied(alice, "kinesis:SubscribeToShard", arn, " because no identity-based policy allows the kinesis:SubscribeToShard action"))
}

// TestAuthorizeConditions: the request context the conditions see.
func TestAuthorizeConditions(t *testing.T) {
	a, _ := newTestAPI(t)
	mustOK(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), "CreateStream")
	mustOK(t, call(a, kinesis.ContentTypeJSON, kinesis.OpAddTagsToStream, `{"StreamName":"s","Tags":{"env":"prod"}}`), "AddTagsToStream")
	tests := []struct {
		cond string
		want bool
	}{
		{`"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}`, true},
		{`"IpAddress":{"aws:SourceIp":"198.51.100.0/24"}`, false},
		{`"Bool":{"aws:SecureTransport":"false"}`, true},
		{`"Bool":{"aws:SecureTransport":"true"}`, false},
		{`"StringEquals":{"aws:PrincipalAccount":"` + owner + `"}`, true},
		{`"StringEquals":{"aws:PrincipalArn":"` + alice + `"}`, true},
		{`"StringEquals":{"aws:username":"alice"}`, true},
		{`"StringEquals":{"aws:PrincipalType":"User"}`, true},
		{`"StringEquals":{"aws:RequestedRegion":"eu-west-1"}`, false},
		{`"StringEquals":{"aws:ResourceAccount":"` + owner + `"}`, true},
		{`"StringEquals":{"aws:ResourceTag/env":"prod"}`, true},
		{`"StringEquals":{"aws:ResourceTag/env":"dev"}`, false},
		{`"Null":{"aws:SourceArn":"true"}`, true},
		{`"StringEquals":{"aws:SourceAccount":"` + owner + `"}`, false},
		{`"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}`, true},
		{`"NumericLessThan":{"aws:EpochTime":"` + strconv.Itoa(1577836800) + `"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			id := `{"Statement":{"Effect":"Allow","Action":"kinesis:PutRecord","Resource":"*","Condition":{` + tc.cond + `}}}`
			r := callAs(a, who(alice, id), kinesis.OpPutRecord, putBody)
			if got := r.Status == 200; got != tc.want {
				t.Fatalf("allowed = %v (%d %s), want %v", got, r.Status, r.Body, tc.want)
			}
		})
	}
	// Tags in the request: aws:RequestTag and aws:TagKeys.
	onlyTeamTags := `{"Statement":{"Effect":"Allow","Action":"kinesis:AddTagsToStream","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}}}`
	mustOK(t, callAs(a, who(alice, onlyTeamTags), kinesis.OpAddTagsToStream, `{"StreamName":"s","Tags":{"team":"x"}}`), "team tag")
	if r := callAs(a, who(alice, onlyTeamTags), kinesis.OpAddTagsToStream, `{"StreamName":"s","Tags":{"team":"x","env":"dev"}}`); r.Status != 400 {
		t.Fatalf("env tag allowed: %d %s", r.Status, r.Body)
	}
}

// TestResourcePolicyWire: the three operations' answers, byte for byte.
func TestResourcePolicyWire(t *testing.T) {
	a, _ := newTestAPI(t)
	arn := setupConsumer(t, a)
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"share","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["kinesis:GetRecords","kinesis:GetShardIterator"],"Resource":"` + testARN + `"}]}`
	quoted, _ := json.Marshal(doc)
	for _, res := range []string{testARN, arn} {
		wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpGetResourcePolicy, `{"ResourceARN":"`+res+`"}`), 200, `{"Policy":"{}"}`)
		wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpPutResourcePolicy, `{"ResourceARN":"`+res+`","Policy":`+string(quoted)+`}`), 200, ``)
		wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpGetResourcePolicy, `{"ResourceARN":"`+res+`"}`), 200, `{"Policy":`+string(quoted)+`}`)
	}
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpDeleteResourcePolicy, `{"ResourceARN":"`+testARN+`"}`), 200, ``)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpGetResourcePolicy, `{"ResourceARN":"`+testARN+`"}`), 200, `{"Policy":"{}"}`)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpGetResourcePolicy, `{"ResourceARN":"`+arn+`"}`), 200, `{"Policy":`+string(quoted)+`}`)
	// Deleting where there is none succeeds.
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpDeleteResourcePolicy, `{"ResourceARN":"`+testARN+`"}`), 200, ``)

	put := func(res, doc string) *kinesis.Response {
		body, _ := json.Marshal(map[string]string{"ResourceARN": res, "Policy": doc})
		return call(a, kinesis.ContentTypeJSON, kinesis.OpPutResourcePolicy, string(body))
	}
	const ok = `"Effect":"Allow","Principal":"*","Action":"kinesis:GetRecords","Resource":"*"`
	nope := strings.Replace(testARN, "stream/s", "stream/nope", 1)
	tests := []struct {
		name, res, doc, want string
	}{
		{"not JSON", testARN, `{`, `{"__type":"InvalidArgumentException","message":"Invalid resource policy: Policy document is not a JSON object: unexpected EOF"}`},
		{"no principal", testARN, `{"Statement":{"Effect":"Allow","Action":"kinesis:GetRecords","Resource":"*"}}`,
			`{"__type":"InvalidArgumentException","message":"Invalid resource policy: Statement[0]: a resource policy must name a Principal or NotPrincipal."}`},
		{"unsupported condition key", testARN, `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}}`,
			`{"__type":"InvalidArgumentException","message":"Invalid resource policy: Statement[0]: Condition key \"aws:SourceVpce\" is not supported by Tributary."}`},
		{"unsupported operator", testARN, `{"Statement":{` + ok + `,"Condition":{"BinaryEquals":{"aws:username":"eA=="}}}}`,
			`{"__type":"InvalidArgumentException","message":"Invalid resource policy: Statement[0]: Condition operator \"BinaryEquals\" is not supported by Tributary."}`},
		{"too large", testARN, `{"Id":"` + strings.Repeat("x", maxPolicyBytes) + `","Statement":{` + ok + `}}`,
			`{"__type":"LimitExceededException","message":"The resource policy is ` + strconv.Itoa(maxPolicyBytes+len(`{"Id":"","Statement":{`+ok+`}}`)) + ` bytes, over the limit of 20480 bytes."}`},
		{"stream not found", nope, `{"Statement":{` + ok + `}}`,
			`{"__type":"ResourceNotFoundException","message":"Stream nope under account 000000000000 not found."}`},
		{"consumer not found", testARN + "/consumer/zz:1", `{"Statement":{` + ok + `}}`,
			`{"__type":"ResourceNotFoundException","message":"Consumer zz under stream s and account 000000000000 not found."}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantResponse(t, put(tc.res, tc.doc), 400, tc.want)
		})
	}
	// A refused policy leaves the stored one as it was.
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpGetResourcePolicy, `{"ResourceARN":"`+arn+`"}`), 200, `{"Policy":`+string(quoted)+`}`)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpGetResourcePolicy, `{"ResourceARN":"`+nope+`"}`), 400,
		`{"__type":"ResourceNotFoundException","message":"Stream nope under account 000000000000 not found."}`)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpDeleteResourcePolicy, `{"ResourceARN":"`+nope+`"}`), 400,
		`{"__type":"ResourceNotFoundException","message":"Stream nope under account 000000000000 not found."}`)
	// The wire's own checks come first.
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpGetResourcePolicy, `{}`), 400,
		`{"__type":"ValidationException","message":"1 validation error detected: Value null at 'resourceARN' failed to satisfy constraint: Member must not be null"}`)

	// Deleting the stream deletes its policy: one re-created under the
	// name has none.
	putPolicy(t, a, testARN, `{"Statement":{`+ok+`}}`)
	mustOK(t, call(a, kinesis.ContentTypeJSON, kinesis.OpDeleteStream, `{"StreamName":"s","EnforceConsumerDeletion":true}`), "DeleteStream")
	mustOK(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), "CreateStream")
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpGetResourcePolicy, `{"ResourceARN":"`+testARN+`"}`), 200, `{"Policy":"{}"}`)
}

// TestPolicyCacheBounded: the cache of parsed policies returns what Parse
// would, shares one parse per document, and never holds more than its
// bound.
func TestPolicyCacheBounded(t *testing.T) {
	var c policyCache
	doc := func(i int) []byte {
		return []byte(`{"Id":"` + strconv.Itoa(i) + `","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	}
	p1, err := c.parse(doc(1), policy.Identity)
	if err != nil || p1.ID != "1" {
		t.Fatalf("parse = %+v, %v", p1, err)
	}
	if p2, _ := c.parse(doc(1), policy.Identity); p2 != p1 {
		t.Fatal("the same document was parsed twice")
	}
	if _, err := c.parse(doc(1), policy.Resource); err == nil {
		t.Fatal("an identity policy passed as a resource policy (the kind is part of the key)")
	}
	for i := range 3 * maxCachedPolicies {
		if p, err := c.parse(doc(i), policy.Identity); err != nil || p.ID != strconv.Itoa(i) {
			t.Fatalf("parse(%d) = %+v, %v", i, p, err)
		}
		if n := len(c.parsed); n > maxCachedPolicies {
			t.Fatalf("%d policies cached, bound %d", n, maxCachedPolicies)
		}
	}
	if p, err := c.parse(nil, policy.Identity); p != nil || err != nil {
		t.Fatalf("no document = %+v, %v; want nil, nil", p, err)
	}
}

// TestCrossAccountConsumer: another account registers a consumer on a
// shared stream and, with the consumer's own policy, describes it; the
// consumer lives in the stream's account.
func TestCrossAccountConsumer(t *testing.T) {
	a, _ := newTestAPI(t)
	mustOK(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), "CreateStream")
	putPolicy(t, a, testARN, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"`+bob+`"},"Action":"kinesis:RegisterStreamConsumer","Resource":"`+testARN+`"}}`)
	bobC := who(bob, allowAll)
	r := callAs(a, bobC, kinesis.OpRegisterStreamConsumer, `{"StreamARN":"`+testARN+`","ConsumerName":"lambda"}`)
	var out struct{ Consumer struct{ ConsumerARN string } }
	if r.Status != 200 || json.Unmarshal(r.Body, &out) != nil || !strings.HasPrefix(out.Consumer.ConsumerARN, testARN+"/consumer/lambda:") {
		t.Fatalf("bob's RegisterStreamConsumer: %d %s", r.Status, r.Body)
	}
	arn := out.Consumer.ConsumerARN
	// The stream's policy does not reach the consumer...
	describe := `{"ConsumerARN":"` + arn + `"}`
	wantResponse(t, callAs(a, bobC, kinesis.OpDescribeStreamConsumer, describe), 400,
		denied(bob, "kinesis:DescribeStreamConsumer", arn, " because no resource-based policy allows the kinesis:DescribeStreamConsumer action"))
	// ...the consumer's does.
	putPolicy(t, a, arn, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"`+other+`"},"Action":"kinesis:DescribeStreamConsumer","Resource":"`+arn+`"}}`)
	if r := callAs(a, bobC, kinesis.OpDescribeStreamConsumer, describe); r.Status != 200 || !strings.Contains(string(r.Body), `"ConsumerName":"lambda"`) {
		t.Fatalf("bob's DescribeStreamConsumer: %d %s", r.Status, r.Body)
	}
	// The owner lists it among its stream's consumers.
	if r := call(a, kinesis.ContentTypeJSON, kinesis.OpListStreamConsumers, `{"StreamARN":"`+testARN+`"}`); !strings.Contains(string(r.Body), arn) {
		t.Fatalf("owner's ListStreamConsumers: %s", r.Body)
	}
}

// TestResourcePolicySurvivesRestart: a policy is stored durably with its
// stream, and still enforced after the engine is reopened.
func TestResourcePolicySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() (*API, func()) {
		engine, err := local.Open(dir, local.Options{})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := stream.New(context.Background(), engine, stream.Options{CreateDelay: stream.NoDelay, DeleteDelay: stream.NoDelay, UpdateDelay: stream.NoDelay})
		if err != nil {
			engine.Close()
			t.Fatal(err)
		}
		return New(svc, Options{}), func() { svc.Close(); engine.Close() }
	}
	a, closeAll := open()
	mustOK(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), "CreateStream")
	doc := `{"Statement":{"Effect":"Allow","Principal":{"AWS":"` + bob + `"},"Action":"kinesis:DescribeStreamSummary","Resource":"` + testARN + `"}}`
	putPolicy(t, a, testARN, doc)
	closeAll()

	a, closeAll = open()
	defer closeAll()
	quoted, _ := json.Marshal(doc)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpGetResourcePolicy, `{"ResourceARN":"`+testARN+`"}`), 200, `{"Policy":`+string(quoted)+`}`)
	mustOK(t, callAs(a, who(bob, allowAll), kinesis.OpDescribeStreamSummary, `{"StreamARN":"`+testARN+`"}`), "bob's DescribeStreamSummary after restart")
}

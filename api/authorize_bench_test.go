package api

import (
	"context"
	"testing"

	"github.com/tributary-io/tributary/kinesis"
)

// BenchmarkAuthorize measures what policies add to a call: reading the
// stream's resource policy and tags, parsing both documents and
// evaluating them, for PutRecord by a user with an identity policy of
// three statements on a stream whose policy has three, with conditions.
// The PutRecord benchmarks beside it are the whole call with and
// without a caller, for scale:
//
//	go test -run '^$' -bench 'Authorize|HandlePutRecordCaller' -benchmem ./api/
func BenchmarkAuthorize(b *testing.B) {
	a, req, in := authorizeFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.authorize(context.Background(), kinesis.OpPutRecord, req, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHandlePutRecordCaller(b *testing.B) {
	for _, withCaller := range []bool{false, true} {
		name := "auth-off"
		if withCaller {
			name = "with-policies"
		}
		b.Run(name, func(b *testing.B) {
			a, req, _ := authorizeFixture(b)
			if !withCaller {
				req.Caller = nil
			}
			b.ReportAllocs()
			for b.Loop() {
				if r := a.Handle(context.Background(), req); r.Status != 200 {
					b.Fatalf("PutRecord: %d %s", r.Status, r.Body)
				}
			}
		})
	}
}

func authorizeFixture(b *testing.B) (*API, *kinesis.Request, kinesis.Input) {
	b.Helper()
	a, _ := newTestAPI(b)
	root := who(ownerRoot, "")
	for _, c := range []struct{ op, body string }{
		{kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`},
		{kinesis.OpAddTagsToStream, `{"StreamName":"s","Tags":{"env":"prod"}}`},
		{kinesis.OpPutResourcePolicy, `{"ResourceARN":"` + testARN + `","Policy":"{\"Version\":\"2012-10-17\",\"Statement\":[` +
			`{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"` + other + `\"},\"Action\":[\"kinesis:Get*\",\"kinesis:Describe*\"],\"Resource\":\"*\"},` +
			`{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"` + alice + `\"},\"Action\":\"kinesis:PutRecord\",\"Resource\":\"` + testARN + `\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"192.0.2.0/24\"}}},` +
			`{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kinesis:DeleteStream\",\"Resource\":\"*\"}]}"}`},
	} {
		if r := callAs(a, root, c.op, c.body); r.Status != 200 {
			b.Fatalf("%s: %d %s", c.op, r.Status, r.Body)
		}
	}
	identity := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["kinesis:PutRecord","kinesis:PutRecords"],"Resource":"arn:aws:kinesis:*:*:stream/s*","Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}},
		{"Effect":"Allow","Action":"kinesis:List*","Resource":"*"},
		{"Effect":"Deny","Action":"kinesis:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`
	req := &kinesis.Request{
		Target: kinesis.TargetPrefix + kinesis.OpPutRecord, ContentType: kinesis.ContentTypeJSON,
		Body: []byte(putBody), Region: "us-east-1", Account: owner, SourceIP: "192.0.2.7",
		Caller: who(alice, identity),
	}
	if r := a.Handle(context.Background(), req); r.Status != 200 {
		b.Fatalf("PutRecord as alice: %d %s", r.Status, r.Body)
	}
	in, _ := kinesis.NewInput(kinesis.OpPutRecord)
	if err := kinesis.DecodeRequest(req, in); err != nil {
		b.Fatal(err)
	}
	return a, req, in
}

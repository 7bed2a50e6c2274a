package server

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/kinesis"
)

// FuzzSignature parses arbitrary Authorization headers, presigned query
// strings and dates, and verifies what parses against a key set. Neither
// may panic; a parsed signature always has a region, the kinesis
// service and the host among its signed headers; an error is always one
// of the authentication exceptions; and a made-up signature never
// verifies.
func FuzzSignature(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAALICE000000001/20261203/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
		"", "20261203T120000Z")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAALICE000000001%2F20261203%2Fus-east-1%2Fkinesis%2Faws4_request"+
		"&X-Amz-Date=20261203T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=abc", "")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e/, SignedHeaders=:authority, Signature=", "a=%zz&&=b", "Wed, 03 Dec 2026 12:00:00 GMT")
	f.Add("AWS AKID:c2ln", "X-Amz-Algorithm", "")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAALICE000000001/20261203/us-east-1/kinesis/aws4_request SignedHeaders=HOST;X-Amz-Date Signature=00",
		"X-Amz-Security-Token=t", "20261203T120000Z")
	creds, err := NewCredentials([]Credential{{AccessKeyID: "AKIAALICE000000001", SecretAccessKey: "s", AccountID: "111111111111"}})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	authTypes := []string{kinesis.ErrMissingAuthenticationToken, kinesis.ErrIncompleteSignature,
		kinesis.ErrInvalidSignature, kinesis.ErrUnrecognizedClient}
	f.Fuzz(func(t *testing.T, authz, rawQuery, date string) {
		h := make(http.Header)
		if authz != "" {
			h["Authorization"] = []string{authz}
		}
		if date != "" {
			h["X-Amz-Date"] = []string{date}
		}
		sig, authErr := authenticate(h, rawQuery)
		if authErr != nil {
			if !slices.Contains(authTypes, authErr.Type) || !slices.Contains(authReasons, authErr.label()) {
				t.Fatalf("error %s (%s) is not an authentication error", authErr.Type, authErr.label())
			}
			return
		}
		if sig.Region == "" || sig.Service != "kinesis" || sig.Terminator != "aws4_request" {
			t.Fatalf("parsed %+v: want a region and the kinesis service", sig.credential)
		}
		if !slices.ContainsFunc(sig.SignedHeaders, func(s string) bool { return s == "host" || s == ":authority" }) {
			t.Fatalf("parsed signed headers %q without the host", sig.SignedHeaders)
		}
		for _, name := range sig.SignedHeaders {
			if name != strings.ToLower(name) {
				t.Fatalf("signed header %q not lowercased", name)
			}
		}
		r := &http.Request{Method: "POST", URL: &url.URL{Path: "/", RawQuery: rawQuery}, Header: h, Host: "localhost", ContentLength: 2}
		key, authErr := verify(r, []byte("{}"), sig, creds, now)
		if authErr == nil {
			t.Fatalf("a made-up signature verified for %v", key)
		}
		if !slices.Contains(authTypes, authErr.Type) || !slices.Contains(authReasons, authErr.label()) {
			t.Fatalf("verify error %s (%s) is not an authentication error", authErr.Type, authErr.label())
		}
	})
}

// FuzzCredentialsFile parses arbitrary credentials files in both
// formats: no panic, and a set that parses has only valid keys.
func FuzzCredentialsFile(f *testing.F) {
	f.Add([]byte("[[credentials]]\naccess_key_id = \"AKID\"\nsecret_access_key = \"s\"\naccount_id = \"111111111111\"\n"), false)
	f.Add([]byte(`{"credentials":[{"access_key_id":"AKID","secret_access_key":"s","account_id":"111111111111","name":"n","policy":"{}"}]}`), true)
	f.Add([]byte("[[credentials]]\naccess_key_id = 1\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, asJSON bool) {
		set, err := ParseCredentials(b, asJSON)
		if err != nil {
			return
		}
		if set.Len() == 0 {
			t.Fatal("an empty set parsed")
		}
		for id, c := range set.keys {
			if id != c.AccessKeyID || checkCredential(*c) != nil {
				t.Fatalf("invalid key in a parsed set: %v", c)
			}
		}
	})
}

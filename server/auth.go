package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/tributary-io/tributary/kinesis"
)

// sigV4Algorithm is the only signing algorithm Kinesis accepts.
const sigV4Algorithm = "AWS4-HMAC-SHA256"

// authError is a failed authentication check, in AWS's words.
type authError struct {
	Type    string
	Message string
	// reason labels the failure in tributary_auth_failures_total; empty
	// means the one of Type (see label).
	reason string
}

// Reasons of tributary_auth_failures_total: a bounded set.
const (
	reasonMissing      = "missing"       // no signature at all
	reasonIncomplete   = "incomplete"    // IncompleteSignatureException
	reasonInvalid      = "invalid"       // malformed signature or scope
	reasonUnknownKey   = "unknown_key"   // access key not in the credentials
	reasonSessionToken = "session_token" // temporary credentials, unsupported
	reasonExpired      = "expired"       // date too old, or presigned URL expired
	reasonNotYetValid  = "not_yet_valid" // date too far in the future
	reasonMismatch     = "mismatch"      // signature does not match
)

// authReasons lists every reason, so that the metric's series exist
// from the start.
var authReasons = []string{reasonMissing, reasonIncomplete, reasonInvalid, reasonUnknownKey,
	reasonSessionToken, reasonExpired, reasonNotYetValid, reasonMismatch}

// label is the failure's reason label.
func (e *authError) label() string {
	switch {
	case e.reason != "":
		return e.reason
	case e.Type == kinesis.ErrMissingAuthenticationToken:
		return reasonMissing
	case e.Type == kinesis.ErrIncompleteSignature:
		return reasonIncomplete
	}
	return reasonInvalid
}

// credential is the parsed SigV4 credential: the access key and its scope.
type credential struct {
	AccessKeyID string
	Date        string // YYYYMMDD, as sent
	Region      string
	Service     string
	Terminator  string // aws4_request
}

// signature is a request's SigV4 signature as parsed: the credential
// and what else verify needs.
type signature struct {
	credential
	// SignedHeaders are the names the client listed, lowercased, in its
	// order.
	SignedHeaders []string
	Signature     string
	// Presigned is whether the signature came in the query string
	// (X-Amz-*) rather than the Authorization header.
	Presigned bool
	// Query is the parsed query string, for a presigned request's
	// X-Amz-Date and X-Amz-Expires.
	Query url.Values
}

// authenticate extracts the SigV4 credential of a request from its
// Authorization header or, for a presigned request, its query string.
//
// The checks and their order follow what AWS's front end answers for
// malformed signatures; verifying the signature itself (date, expiry, the
// access key, the HMAC) is not done here.
func authenticate(header http.Header, rawQuery string) (signature, *authError) {
	authz := header.Get("Authorization")
	// A malformed query still yields the pairs that parsed; AWS looks only
	// for the presence of its parameters.
	query, _ := url.ParseQuery(rawQuery)
	_, presigned := query["X-Amz-Algorithm"]

	switch {
	case authz != "" && presigned:
		return signature{}, &authError{Type: kinesis.ErrInvalidSignature,
			Message: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."}
	case authz != "":
		hasDate := header.Get("X-Amz-Date") != "" || header.Get("Date") != ""
		return parseAuthorizationHeader(authz, hasDate)
	case presigned:
		sig, err := parsePresignedQuery(query)
		sig.Query = query
		return sig, err
	default:
		return signature{}, &authError{Type: kinesis.ErrMissingAuthenticationToken, Message: "Missing Authentication Token"}
	}
}

// parseAuthorizationHeader parses
//
//	AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=...
//
// AWS separates the parameters by commas and/or spaces.
func parseAuthorizationHeader(value string, hasDate bool) (signature, *authError) {
	algorithm, rest, _ := strings.Cut(strings.TrimLeftFunc(value, unicode.IsSpace), " ")
	params := make(map[string]string)
	fields := strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	for _, field := range fields {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return signature{}, &authError{Type: kinesis.ErrIncompleteSignature, Message: fmt.Sprintf(
				"'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", field, value)}
		}
		if _, dup := params[k]; !dup {
			params[k] = v
		}
	}

	var msg strings.Builder
	for _, k := range []string{"Credential", "Signature"} {
		if params[k] == "" {
			fmt.Fprintf(&msg, "Authorization header requires '%s' parameter. ", k)
		}
	}
	// An empty SignedHeaders passes this check; it fails the Host check below.
	if _, ok := params["SignedHeaders"]; !ok {
		msg.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
	}
	if !hasDate {
		msg.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	if msg.Len() > 0 {
		msg.WriteString("Authorization=" + value)
		return signature{}, &authError{Type: kinesis.ErrIncompleteSignature, Message: msg.String()}
	}
	return checkSignatureParts(algorithm, params["Credential"], params["SignedHeaders"], params["Signature"])
}

// parsePresignedQuery parses the X-Amz-* parameters of a presigned URL.
func parsePresignedQuery(query url.Values) (signature, *authError) {
	var msg strings.Builder
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
		if query.Get(k) == "" {
			fmt.Fprintf(&msg, "AWS query-string parameters must include '%s'. ", k)
		}
	}
	if msg.Len() > 0 {
		msg.WriteString("Re-examine the query-string parameters.")
		return signature{}, &authError{Type: kinesis.ErrIncompleteSignature, Message: msg.String()}
	}
	sig, err := checkSignatureParts(query.Get("X-Amz-Algorithm"), query.Get("X-Amz-Credential"),
		query.Get("X-Amz-SignedHeaders"), query.Get("X-Amz-Signature"))
	sig.Presigned = true
	return sig, err
}

// checkSignatureParts applies the checks common to both forms, in AWS's
// order: Host signed, algorithm, credential shape, credential scope.
func checkSignatureParts(algorithm, cred, signedHeaders, sigValue string) (signature, *authError) {
	if !signsHost(signedHeaders) {
		return signature{}, &authError{Type: kinesis.ErrInvalidSignature, Message: "'Host' must be a 'SignedHeader' in the AWS Authorization."}
	}
	if algorithm != sigV4Algorithm {
		return signature{}, &authError{Type: kinesis.ErrIncompleteSignature, Message: fmt.Sprintf(
			"Unsupported AWS 'algorithm': '%s' (only %s for now). ", algorithm, sigV4Algorithm)}
	}
	// AWS ignores trailing slashes when counting the elements.
	parts := strings.Split(strings.TrimRight(cred, "/"), "/")
	if len(parts) != 5 {
		return signature{}, &authError{Type: kinesis.ErrIncompleteSignature, Message: fmt.Sprintf(
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)}
	}
	c := credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3], Terminator: parts[4]}

	// Tributary serves every region, so only an empty one is invalid. AWS
	// reports all scope mismatches in one message.
	var msg strings.Builder
	if c.Region == "" {
		msg.WriteString("Credential should be scoped to a valid region, not ''. ")
	}
	if c.Service != "kinesis" {
		msg.WriteString("Credential should be scoped to correct service: 'kinesis'. ")
	}
	if parts[4] != "aws4_request" {
		fmt.Fprintf(&msg, "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ", parts[4])
	}
	if msg.Len() > 0 {
		return signature{}, &authError{Type: kinesis.ErrInvalidSignature, Message: msg.String()}
	}
	var names []string
	for h := range strings.SplitSeq(signedHeaders, ";") {
		names = append(names, strings.ToLower(strings.TrimSpace(h)))
	}
	return signature{credential: c, SignedHeaders: names, Signature: sigValue}, nil
}

// signsHost reports whether a SignedHeaders list includes the host. Over
// HTTP/2 the AWS SDK for JavaScript v3 signs the :authority pseudo-header
// instead of Host, and AWS accepts that.
func signsHost(signedHeaders string) bool {
	for h := range strings.SplitSeq(signedHeaders, ";") {
		h = strings.TrimSpace(h)
		if strings.EqualFold(h, "host") || h == ":authority" {
			return true
		}
	}
	return false
}

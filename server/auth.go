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
}

// credential is the parsed SigV4 credential: the access key and its scope.
type credential struct {
	AccessKeyID string
	Date        string // YYYYMMDD, as sent
	Region      string
	Service     string
}

// authenticate extracts the SigV4 credential of a request from its
// Authorization header or, for a presigned request, its query string.
//
// The checks and their order follow what AWS's front end answers for
// malformed signatures; verifying the signature itself (date, expiry, the
// access key, the HMAC) is not done here.
func authenticate(header http.Header, rawQuery string) (credential, *authError) {
	authz := header.Get("Authorization")
	// A malformed query still yields the pairs that parsed; AWS looks only
	// for the presence of its parameters.
	query, _ := url.ParseQuery(rawQuery)
	_, presigned := query["X-Amz-Algorithm"]

	switch {
	case authz != "" && presigned:
		return credential{}, &authError{kinesis.ErrInvalidSignature,
			"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."}
	case authz != "":
		hasDate := header.Get("X-Amz-Date") != "" || header.Get("Date") != ""
		return parseAuthorizationHeader(authz, hasDate)
	case presigned:
		return parsePresignedQuery(query)
	default:
		return credential{}, &authError{kinesis.ErrMissingAuthenticationToken, "Missing Authentication Token"}
	}
}

// parseAuthorizationHeader parses
//
//	AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=...
//
// AWS separates the parameters by commas and/or spaces.
func parseAuthorizationHeader(value string, hasDate bool) (credential, *authError) {
	algorithm, rest, _ := strings.Cut(strings.TrimLeftFunc(value, unicode.IsSpace), " ")
	params := make(map[string]string)
	fields := strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	for _, field := range fields {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return credential{}, &authError{kinesis.ErrIncompleteSignature, fmt.Sprintf(
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
		return credential{}, &authError{kinesis.ErrIncompleteSignature, msg.String()}
	}
	return checkSignatureParts(algorithm, params["Credential"], params["SignedHeaders"])
}

// parsePresignedQuery parses the X-Amz-* parameters of a presigned URL.
func parsePresignedQuery(query url.Values) (credential, *authError) {
	var msg strings.Builder
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
		if query.Get(k) == "" {
			fmt.Fprintf(&msg, "AWS query-string parameters must include '%s'. ", k)
		}
	}
	if msg.Len() > 0 {
		msg.WriteString("Re-examine the query-string parameters.")
		return credential{}, &authError{kinesis.ErrIncompleteSignature, msg.String()}
	}
	return checkSignatureParts(query.Get("X-Amz-Algorithm"), query.Get("X-Amz-Credential"), query.Get("X-Amz-SignedHeaders"))
}

// checkSignatureParts applies the checks common to both forms, in AWS's
// order: Host signed, algorithm, credential shape, credential scope.
func checkSignatureParts(algorithm, cred, signedHeaders string) (credential, *authError) {
	if !signsHost(signedHeaders) {
		return credential{}, &authError{kinesis.ErrInvalidSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization."}
	}
	if algorithm != sigV4Algorithm {
		return credential{}, &authError{kinesis.ErrIncompleteSignature, fmt.Sprintf(
			"Unsupported AWS 'algorithm': '%s' (only %s for now). ", algorithm, sigV4Algorithm)}
	}
	// AWS ignores trailing slashes when counting the elements.
	parts := strings.Split(strings.TrimRight(cred, "/"), "/")
	if len(parts) != 5 {
		return credential{}, &authError{kinesis.ErrIncompleteSignature, fmt.Sprintf(
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)}
	}
	c := credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}

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
		return credential{}, &authError{kinesis.ErrInvalidSignature, msg.String()}
	}
	return c, nil
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

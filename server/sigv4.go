package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/kinesis"
)

// Signature Version 4 verification, as AWS performs it for Kinesis
// (docs: "Create a signed AWS API request", "Elements of an AWS API
// request signature"). The server recomputes the signature over the
// request it received, with the secret of the access key the credential
// names, and compares it with the one sent:
//
//	canonical request = method \n canonical URI \n canonical query \n
//	                    canonical headers \n signed headers \n payload hash
//	string to sign    = AWS4-HMAC-SHA256 \n date \n scope \n hex(SHA-256(canonical request))
//	signing key       = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, day), region), service), "aws4_request")
//	signature         = hex(HMAC(signing key, string to sign))
//
// The canonical headers are exactly those the client listed in
// SignedHeaders, whatever they are: a client may sign more headers than
// the minimum, and then a change to any of them fails the signature.

// Time limits AWS applies to a signature's date.
const (
	// maxClockSkew is how far a request's date may be from the server's
	// clock, either way.
	maxClockSkew = 5 * time.Minute
	// maxPresignExpires is the longest X-Amz-Expires: 7 days.
	maxPresignExpires = 7 * 24 * 60 * 60
)

// amzDateFormat is the ISO 8601 basic format of X-Amz-Date.
const amzDateFormat = "20060102T150405Z"

// unsignedPayload is the payload hash a client sends in
// x-amz-content-sha256 when it does not sign the body.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// Messages of AWS's answers.
const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgInvalidToken        = "The security token included in the request is invalid."
	msgInvalidSessionToken = "The security token included in the request is invalid"
)

// verify checks the signature sig of request r, whose body is body,
// against the keys of creds at time now. It returns the key that signed
// the request, or the error AWS would answer.
//
// The checks, in order (AWS's, as far as its answers to requests wrong
// in several ways tell): the date and its format, the credential scope's
// date, the dated header signed, the clock skew (or a presigned URL's
// expiry), the access key, the payload hash, the signature itself,
// compared in constant time, and last a session token (temporary
// credentials, unsupported).
func verify(r *http.Request, body []byte, sig signature, creds *Credentials, now time.Time) (*Credential, *authError) {
	dateText, dateHeader := signedDate(r, sig)
	date, err := time.Parse(amzDateFormat, dateText)
	if dateHeader == "date" && err != nil {
		// The HTTP Date header, when there is no X-Amz-Date.
		var t time.Time
		if t, err = http.ParseTime(dateText); err == nil {
			date = t.UTC()
		}
	}
	if err != nil {
		return nil, &authError{Type: kinesis.ErrIncompleteSignature, Message: fmt.Sprintf(
			"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", dateText)}
	}
	if day := date.Format("20060102"); sig.Date != day {
		return nil, &authError{Type: kinesis.ErrInvalidSignature, Message: fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			sig.Date, day, dateText)}
	}
	if dateHeader != "" && !slices.Contains(sig.SignedHeaders, dateHeader) {
		// The date must be signed, or a captured request could be
		// replayed forever with a fresh date.
		return nil, &authError{Type: kinesis.ErrInvalidSignature, Message: fmt.Sprintf(
			"'%s' must be a 'SignedHeader' in the AWS Authorization.", http.CanonicalHeaderKey(dateHeader))}
	}
	if e := checkTime(sig, date, now); e != nil {
		return nil, e
	}

	key := creds.lookup(sig.AccessKeyID)
	if key == nil {
		return nil, &authError{Type: kinesis.ErrUnrecognizedClient, Message: msgInvalidToken, reason: reasonUnknownKey}
	}

	payload := bodyHash(body)
	if sent := r.Header.Get("X-Amz-Content-Sha256"); sent == unsignedPayload {
		payload = unsignedPayload
	} else if sent != "" && sent != payload {
		// The client signed a hash that is not the body's: the body
		// changed on the way, or the client is wrong. Either way the
		// signature does not cover what arrived.
		return nil, &authError{Type: kinesis.ErrInvalidSignature, Message: msgSignatureMismatch, reason: reasonMismatch}
	}

	cacheID := key.AccessKeyID + "/" + sig.scope()
	signingKey := creds.signingKeys.get(cacheID)
	cached := signingKey != nil
	if !cached {
		signingKey = deriveSigningKey(key.SecretAccessKey, sig)
	}
	// The string to sign carries the date in ISO 8601 basic format, also
	// when it came in an HTTP Date header.
	want := signWith(signingKey, r, sig, date.Format(amzDateFormat), payload)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig.Signature))) {
		return nil, &authError{Type: kinesis.ErrInvalidSignature, Message: msgSignatureMismatch, reason: reasonMismatch}
	}
	if !cached {
		creds.signingKeys.put(cacheID, signingKey)
	}
	// Temporary credentials come from STS, which Tributary does not have:
	// no session token can be valid. AWS's front end looks at the token
	// last, after the signature, and words this answer without the final
	// period of the unknown key's (dynalite's captures of the Coral front
	// end, which Kinesis shares with DynamoDB).
	if r.Header.Get("X-Amz-Security-Token") != "" || sig.Query.Get("X-Amz-Security-Token") != "" {
		return nil, &authError{Type: kinesis.ErrUnrecognizedClient, Message: msgInvalidSessionToken, reason: reasonSessionToken}
	}
	return key, nil
}

// signedDate returns the request's signing date as sent, and the header
// that carries it ("x-amz-date" or "date"; "" for a presigned URL, whose
// X-Amz-Date is in the query and so signed anyway).
func signedDate(r *http.Request, sig signature) (string, string) {
	if sig.Presigned {
		return sig.Query.Get("X-Amz-Date"), ""
	}
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		return d, "x-amz-date"
	}
	return r.Header.Get("Date"), "date"
}

// checkTime applies the clock skew, and a presigned URL's expiry.
func checkTime(sig signature, date, now time.Time) *authError {
	stamp := func(t time.Time) string { return t.UTC().Format(amzDateFormat) }
	if sig.Presigned {
		expires, err := strconv.Atoi(sig.Query.Get("X-Amz-Expires"))
		if err != nil || expires < 1 || expires > maxPresignExpires {
			return &authError{Type: kinesis.ErrIncompleteSignature, Message: fmt.Sprintf(
				"X-Amz-Expires must be an integer from 1 to %d (seconds), got '%s'.", maxPresignExpires, sig.Query.Get("X-Amz-Expires"))}
		}
		limit := now.Add(-time.Duration(expires) * time.Second)
		if date.Before(limit) {
			return &authError{Type: kinesis.ErrInvalidSignature, reason: reasonExpired, Message: fmt.Sprintf(
				"Signature expired: %s is now earlier than %s (%s - %d sec.)", stamp(date), stamp(limit), stamp(now), expires)}
		}
	} else if limit := now.Add(-maxClockSkew); date.Before(limit) {
		return &authError{Type: kinesis.ErrInvalidSignature, reason: reasonExpired, Message: fmt.Sprintf(
			"Signature expired: %s is now earlier than %s (%s - 5 min.)", stamp(date), stamp(limit), stamp(now))}
	}
	if limit := now.Add(maxClockSkew); date.After(limit) {
		return &authError{Type: kinesis.ErrInvalidSignature, reason: reasonNotYetValid, Message: fmt.Sprintf(
			"Signature not yet current: %s is still later than %s (%s + 5 min.)", stamp(date), stamp(limit), stamp(now))}
	}
	return nil
}

// bodyHash is the hex SHA-256 of a body, the payload hash of a signed
// body.
func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// scope is the signature's credential scope: date/region/service/terminator.
func (sig signature) scope() string {
	return sig.Date + "/" + sig.Region + "/" + sig.Service + "/" + sig.Terminator
}

// computeSignature is the signature of r under secret, in lowercase hex.
func computeSignature(r *http.Request, sig signature, secret, dateText, payload string) string {
	return signWith(deriveSigningKey(secret, sig), r, sig, dateText, payload)
}

// deriveSigningKey is the key a secret signs with in sig's scope.
func deriveSigningKey(secret string, sig signature) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), sig.Date)
	k = hmacSHA256(k, sig.Region)
	k = hmacSHA256(k, sig.Service)
	return hmacSHA256(k, sig.Terminator)
}

// signWith is the signature of r with a signing key, in lowercase hex.
func signWith(signingKey []byte, r *http.Request, sig signature, dateText, payload string) string {
	creq := canonicalRequest(r, sig, payload)
	sum := sha256.Sum256([]byte(creq))
	stringToSign := sigV4Algorithm + "\n" + dateText + "\n" + sig.scope() + "\n" + hex.EncodeToString(sum[:])
	return hex.EncodeToString(hmacSHA256(signingKey, stringToSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalRequest builds the canonical request of r.
func canonicalRequest(r *http.Request, sig signature, payload string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery, sig.Presigned))
	b.WriteByte('\n')
	for _, name := range sig.SignedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(sig.SignedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String()
}

// canonicalURI is the path as sent, URI-encoded once more: for every
// service but S3, SigV4 encodes the already-encoded path segments again.
// AWS clients post Kinesis requests to "/".
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery sorts the query's parameters by name and then value,
// each decoded and encoded again as SigV4 says; a presigned request's
// X-Amz-Signature is left out, as it is not signed.
func canonicalQuery(rawQuery string, presigned bool) string {
	if rawQuery == "" {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = queryUnescape(k)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, pair{uriEncode(k, true), uriEncode(queryUnescape(v), true)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// queryUnescape decodes a query component; one that does not decode is
// taken as it is (the signature then fails, unless the client signed it
// the same way).
func queryUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// uriEncode encodes every byte but the unreserved characters
// (A-Z a-z 0-9 - _ . ~) as %XX with upper-case hex, and also '/' when
// encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// canonicalHeaderValue is the value of the signed header name: its
// values joined by commas, each trimmed and with runs of spaces inside
// made one.
func canonicalHeaderValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host", ":authority":
		// net/http moves Host (and HTTP/2's :authority) out of the header
		// map.
		values = []string{r.Host}
	case "content-length":
		values = r.Header.Values("Content-Length")
		if len(values) == 0 && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		values = r.Header.Values(name)
	}
	// values may be the header map's own slice: not modified.
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

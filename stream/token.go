package stream

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"time"
)

// Pagination tokens (ListShards' and ListStreams' NextToken) are opaque to
// clients: base64 of a version byte, a small JSON body and an HMAC over the
// scope and the body. The MAC makes them tamper-proof and binds them to the
// account and region that received them; the issue time makes them expire
// after tokenLifetime, as AWS's ListShards tokens do.

const (
	tokenVersion  = 1
	tokenMACLen   = 16
	tokenLifetime = 300 * time.Second
)

type tokenKind uint8

const (
	tokenListShards tokenKind = iota + 1
	tokenListStreams
	tokenListConsumers
)

type token struct {
	Kind   tokenKind    `json:"k"`
	Issued int64        `json:"t"` // Unix ms
	Stream string       `json:"s"`
	Tag    uint32       `json:"g,omitempty"`
	Index  uint32       `json:"i,omitempty"`
	Filter *ShardFilter `json:"f,omitempty"`
	// After is the last consumer name of a ListStreamConsumers page.
	After string `json:"a,omitempty"`
}

// sealToken encodes t, issued now.
func (s *Service) sealToken(scope Scope, t token) (string, error) {
	t.Issued = s.now().UnixMilli()
	js, err := json.Marshal(&t)
	if err != nil {
		return "", internal("encode token", err)
	}
	body := append([]byte{tokenVersion}, js...)
	return base64.StdEncoding.EncodeToString(append(body, scopedMAC(s.tokenKey, scope, body, tokenMACLen)...)), nil
}

// openToken decodes and checks a token of the given kind.
func (s *Service) openToken(scope Scope, text string, kind tokenKind) (token, error) {
	invalid := newError(CodeInvalidArgument, "Invalid NextToken.")
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(raw) < 1+tokenMACLen || raw[0] != tokenVersion {
		return token{}, invalid
	}
	body, mac := raw[:len(raw)-tokenMACLen], raw[len(raw)-tokenMACLen:]
	if !hmac.Equal(mac, scopedMAC(s.tokenKey, scope, body, tokenMACLen)) {
		return token{}, invalid
	}
	var t token
	if err := json.Unmarshal(body[1:], &t); err != nil || t.Kind != kind {
		return token{}, invalid
	}
	if s.now().Sub(time.UnixMilli(t.Issued)) > tokenLifetime {
		return token{}, newError(CodeExpiredNextToken, "The NextToken has expired.")
	}
	return t, nil
}

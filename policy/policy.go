// Package policy parses, validates and evaluates IAM policy documents
// (IAM's JSON grammar) for Kinesis: the identity policies attached to a
// credential and the resource policies attached to streams and consumers.
// It imports nothing of Tributary: package api builds the request it
// evaluates, and the credentials loader calls Validate on identity
// policies.
//
// What is supported, and how evaluation goes, is written in
// docs/security.md ("Policies"). The rule throughout: anything this
// package does not understand is refused when the document is parsed,
// never ignored when it is evaluated, so that no policy allows more than
// its author meant.
package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Kind tells which of IAM's two placements a document is written for:
// they differ in whether a statement names its principal.
type Kind int

const (
	// Identity is a policy attached to a caller: its statements have no
	// Principal, the principal being the caller it is attached to.
	Identity Kind = iota
	// Resource is a policy attached to a stream or consumer: every
	// statement names the principals it applies to.
	Resource
)

// The policy language versions IAM knows. 2008-10-17 is the default
// when Version is absent; it lacks policy variables, which this package
// does not support in either version.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Effect is a statement's Effect.
type Effect string

const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Policy is a parsed, validated policy document.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement. Exactly one of Actions and NotActions is
// set, and one of Resources and NotResources; Principals is nil in an
// identity policy.
type Statement struct {
	Sid    string
	Effect Effect
	// Principals is the Principal or NotPrincipal element (NotPrincipal
	// set for the latter); nil when the statement has neither.
	Principals   *Principals
	NotPrincipal bool
	Actions      []string
	NotAction    bool
	Resources    []string
	NotResource  bool
	Conditions   []Condition
}

// Principals is a Principal element: every principal ("*"), or AWS
// principals by account or ARN, normalised: an account is kept as its
// root ARN, arn:aws:iam::ACCOUNT:root.
type Principals struct {
	Any bool
	AWS []string
}

// Error is a document that does not parse or is not valid. Its message
// says what is wrong and where, for the caller to fix.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(format string, args ...any) *Error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// Validate checks that doc is a valid policy of the given kind that this
// package can evaluate in full. It returns an *Error otherwise.
func Validate(doc []byte, kind Kind) error {
	_, err := Parse(doc, kind)
	return err
}

// Parse parses and validates doc.
func Parse(doc []byte, kind Kind) (*Policy, error) {
	var top map[string]json.RawMessage
	if err := strictUnmarshal(doc, &top); err != nil {
		return nil, errorf("Policy document is not a JSON object: %v", err)
	}
	if top == nil {
		return nil, errorf("Policy document is not a JSON object.")
	}
	p := &Policy{Version: Version2008}
	var stmts json.RawMessage
	for k, v := range top {
		var err error
		switch k {
		case "Version":
			err = unmarshalString(v, &p.Version)
			if err == nil && p.Version != Version2012 && p.Version != Version2008 {
				err = errorf("Version %q is not one of %s and %s.", p.Version, Version2012, Version2008)
			}
		case "Id":
			err = unmarshalString(v, &p.ID)
		case "Statement":
			stmts = v
		default:
			err = errorf("Policy document has an unknown element %q.", k)
		}
		if err != nil {
			return nil, wrapAt("", err)
		}
	}
	if stmts == nil {
		return nil, errorf("Policy document has no Statement.")
	}
	var raws []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(stmts), []byte("[")) {
		if err := json.Unmarshal(stmts, &raws); err != nil {
			return nil, errorf("Statement must be an object or an array of objects.")
		}
	} else {
		raws = []json.RawMessage{stmts}
	}
	if len(raws) == 0 {
		return nil, errorf("Statement must not be empty.")
	}
	sids := make(map[string]bool)
	for i, raw := range raws {
		s, err := parseStatement(raw, kind)
		if err != nil {
			return nil, wrapAt(fmt.Sprintf("Statement[%d]: ", i), err)
		}
		if s.Sid != "" {
			if sids[s.Sid] {
				return nil, errorf("Statement[%d]: Sid %q is not unique.", i, s.Sid)
			}
			sids[s.Sid] = true
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

// wrapAt prefixes an error's message with where it was found.
func wrapAt(where string, err error) error {
	if e, ok := err.(*Error); ok {
		return &Error{Msg: where + e.Msg}
	}
	return errorf("%s%v", where, err)
}

// strictUnmarshal decodes one JSON value and nothing after it, and
// refuses an object with a member named twice: encoding/json would keep
// the last silently, so {"Effect":"Deny","Effect":"Allow"} would read as
// Deny to a person and evaluate as Allow.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the document")
	}
	return checkDuplicateKeys(b)
}

// checkDuplicateKeys walks a JSON text already known to be valid and
// reports the first member name repeated within one object.
func checkDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	// One entry per open array or object: nil for an array, the names
	// seen so far for an object. inKey says whether the next string token
	// of an object is a member name (true) or a value (false).
	var stack []map[string]bool
	var inKey []bool
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF: the text was checked to be valid
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack, inKey = append(stack, map[string]bool{}), append(inKey, true)
				continue
			case '[':
				stack, inKey = append(stack, nil), append(inKey, false)
				continue
			default:
				stack, inKey = stack[:top], inKey[:top]
				top--
			}
		} else if top >= 0 && stack[top] != nil && inKey[top] {
			name := tok.(string)
			if stack[top][name] {
				return fmt.Errorf("member %q appears twice in one object", name)
			}
			stack[top][name] = true
			inKey[top] = false
			continue
		}
		// A value (scalar, or a closed array or object) was read: in an
		// object, a member name comes next.
		if top >= 0 && stack[top] != nil {
			inKey[top] = true
		}
	}
}

func unmarshalString(raw json.RawMessage, s *string) error {
	if err := json.Unmarshal(raw, s); err != nil {
		return errorf("must be a string.")
	}
	return nil
}

// stringOrList decodes IAM's "a string or a list of strings", which must
// not be empty.
func stringOrList(raw json.RawMessage, name string) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errorf("%s must be a string or an array of strings.", name)
	}
	if len(many) == 0 {
		return nil, errorf("%s must not be empty.", name)
	}
	return many, nil
}

func parseStatement(raw json.RawMessage, kind Kind) (Statement, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return Statement{}, errorf("a statement must be a JSON object.")
	}
	var s Statement
	var haveAction, haveResource int
	for k, v := range m {
		var err error
		switch k {
		case "Sid":
			err = unmarshalString(v, &s.Sid)
		case "Effect":
			var e string
			if err = unmarshalString(v, &e); err == nil {
				s.Effect = Effect(e)
				if s.Effect != Allow && s.Effect != Deny {
					err = errorf("Effect %q must be Allow or Deny.", e)
				}
			}
		case "Principal", "NotPrincipal":
			if s.Principals != nil {
				return s, errorf("a statement cannot have both Principal and NotPrincipal.")
			}
			s.NotPrincipal = k == "NotPrincipal"
			s.Principals, err = parsePrincipals(v, k)
		case "Action", "NotAction":
			haveAction++
			s.NotAction = k == "NotAction"
			if s.Actions, err = stringOrList(v, k); err == nil {
				err = checkAll(s.Actions, checkAction)
			}
		case "Resource", "NotResource":
			haveResource++
			s.NotResource = k == "NotResource"
			if s.Resources, err = stringOrList(v, k); err == nil {
				err = checkAll(s.Resources, checkResource)
			}
		case "Condition":
			s.Conditions, err = parseConditions(v)
		default:
			err = errorf("unknown element %q.", k)
		}
		if err != nil {
			return s, err
		}
	}
	switch {
	case s.Effect == "":
		return s, errorf("Effect is missing.")
	case haveAction != 1:
		return s, errorf("a statement needs exactly one of Action and NotAction.")
	case haveResource != 1:
		return s, errorf("a statement needs exactly one of Resource and NotResource.")
	case kind == Identity && s.Principals != nil:
		return s, errorf("an identity policy cannot name a Principal or NotPrincipal.")
	case kind == Resource && s.Principals == nil:
		return s, errorf("a resource policy must name a Principal or NotPrincipal.")
	}
	return s, nil
}

func checkAll(vals []string, check func(string) error) error {
	for _, v := range vals {
		if err := check(v); err != nil {
			return err
		}
	}
	return nil
}

// An action is service:name, wildcards allowed in either part.
var actionRE = regexp.MustCompile(`^[a-zA-Z0-9*?-]+:[a-zA-Z0-9*?]+$`)

func checkAction(a string) error {
	if a == "*" || actionRE.MatchString(a) {
		return nil
	}
	return errorf("Action %q is not \"*\" or service:action.", a)
}

func checkResource(r string) error {
	if strings.Contains(r, "${") {
		return errorf("Resource %q uses a policy variable, which Tributary does not support.", r)
	}
	if r == "*" || (strings.HasPrefix(r, "arn:") && strings.Count(r, ":") >= 5) {
		return nil
	}
	return errorf("Resource %q is not \"*\" or an ARN.", r)
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// iamARNRE is the IAM principals Tributary's callers can be: an account's
// root, or a user (with an optional path).
var iamARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):(root|user/[\w+=,.@/-]+)$`)

func parsePrincipals(raw json.RawMessage, name string) (*Principals, error) {
	var star string
	if err := json.Unmarshal(raw, &star); err == nil {
		if star != "*" {
			return nil, errorf("%s must be \"*\" or an object such as {\"AWS\": ...}.", name)
		}
		return &Principals{Any: true}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return nil, errorf("%s must be \"*\" or an object such as {\"AWS\": ...}.", name)
	}
	p := &Principals{}
	for k, v := range m {
		if k != "AWS" {
			return nil, errorf("%s type %q is not supported (only \"AWS\").", name, k)
		}
		vals, err := stringOrList(v, name+".AWS")
		if err != nil {
			return nil, err
		}
		for _, a := range vals {
			switch {
			case a == "*":
				p.Any = true
			case accountRE.MatchString(a):
				p.AWS = append(p.AWS, RootARN(a))
			case iamARNRE.MatchString(a):
				p.AWS = append(p.AWS, a)
			default:
				return nil, errorf("%s %q is not an account id, an account's root ARN or a user ARN.", name, a)
			}
		}
	}
	return p, nil
}

// RootARN is the ARN of an account's root principal.
func RootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

package policy

import "strings"

// Request is what one call asks to do, as policies see it.
type Request struct {
	// Action is service:Name, e.g. "kinesis:PutRecord".
	Action string
	// Resource is the ARN acted on, or "*" for actions on no resource
	// (ListStreams, DescribeLimits).
	Resource string
	// ResourceAccount owns the resource; for Resource "*" it is the
	// caller's account.
	ResourceAccount string
	// PrincipalAccount and PrincipalARN are the caller's: its account
	// and arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME.
	PrincipalAccount string
	PrincipalARN     string
	// Context holds the condition keys' values, by lower-cased key; a
	// key absent from the request has no entry.
	Context map[string][]string
}

// Reason says which rule decided an evaluation; AccessDeniedException's
// message is written from it.
type Reason int

const (
	// Allowed: the request may go ahead.
	Allowed Reason = iota
	// DenyIdentityExplicit: a Deny statement of the caller's identity
	// policy applies.
	DenyIdentityExplicit
	// DenyResourceExplicit: a Deny statement of the resource policy
	// applies to the caller.
	DenyResourceExplicit
	// DenyNoIdentityAllow: nothing allows it, and on the caller's side
	// an identity policy would have had to.
	DenyNoIdentityAllow
	// DenyNoResourceAllow: a call across accounts that the resource
	// policy does not allow.
	DenyNoResourceAllow
)

// Evaluate decides req as IAM does, given the caller's identity policy
// and the resource's policy (either nil when there is none):
//
//  1. An applicable Deny in either policy denies (identity first).
//  2. In the resource's own account, the account's root may do
//     anything; anyone else needs an Allow in the identity policy or an
//     Allow in the resource policy naming the caller (by user ARN, or
//     "*"). A resource policy naming the account itself delegates to the
//     account's identity policies and allows no user on its own.
//  3. Across accounts, the resource policy must allow the caller (by
//     user ARN, by the caller's account, or "*") and the caller's own
//     account must allow it too: its identity policy, or the caller
//     being that account's root.
func Evaluate(req Request, identity, resource *Policy) Reason {
	root := req.PrincipalARN == RootARN(req.PrincipalAccount)
	idAllow, idDeny := identity.decide(req, nil)
	if idDeny {
		return DenyIdentityExplicit
	}
	resAllow, resDeny := resource.decide(req, func(m principalMatch) bool {
		// In the owning account only a grant to the caller itself counts;
		// across accounts a grant to the caller's account is what
		// sharing is.
		return m == matchDirect || (m == matchAccount && req.PrincipalAccount != req.ResourceAccount)
	})
	if resDeny {
		return DenyResourceExplicit
	}
	if req.PrincipalAccount == req.ResourceAccount {
		if root || idAllow || resAllow {
			return Allowed
		}
		return DenyNoIdentityAllow
	}
	if !resAllow {
		return DenyNoResourceAllow
	}
	if !root && !idAllow {
		return DenyNoIdentityAllow
	}
	return Allowed
}

// decide reports whether an Allow and whether a Deny of p apply to req.
// grants says which principal matches count for an Allow (nil for an
// identity policy, whose statements name no principal); any match
// counts for a Deny.
func (p *Policy) decide(req Request, grants func(principalMatch) bool) (allow, deny bool) {
	if p == nil {
		return false, false
	}
	for i := range p.Statements {
		s := &p.Statements[i]
		m := matchDirect
		if s.Principals != nil {
			m = s.principalMatch(req)
			if m == matchNone {
				continue
			}
		}
		if !s.applies(req) {
			continue
		}
		if s.Effect == Deny {
			deny = true
		} else if grants == nil || grants(m) {
			allow = true
		}
	}
	return allow, deny
}

// applies reports whether the statement's action, resource and
// conditions match req.
func (s *Statement) applies(req Request) bool {
	if matchAny(s.Actions, req.Action, true) == s.NotAction {
		return false
	}
	if matchAny(s.Resources, req.Resource, false) == s.NotResource {
		return false
	}
	for i := range s.Conditions {
		if !s.Conditions[i].holds(req.Context) {
			return false
		}
	}
	return true
}

func matchAny(patterns []string, v string, fold bool) bool {
	for _, p := range patterns {
		if wildcard(p, v, fold) {
			return true
		}
	}
	return false
}

// principalMatch is how a statement's principals name the caller.
type principalMatch int

const (
	matchNone principalMatch = iota
	// matchAccount: by the caller's account (its id or root ARN).
	matchAccount
	// matchDirect: by the caller's own ARN, or "*".
	matchDirect
)

func (s *Statement) principalMatch(req Request) principalMatch {
	m := s.Principals.match(req)
	if !s.NotPrincipal {
		return m
	}
	// NotPrincipal applies to everyone it does not name, as directly as
	// "*" would.
	if m == matchNone {
		return matchDirect
	}
	return matchNone
}

func (p *Principals) match(req Request) principalMatch {
	if p.Any {
		return matchDirect
	}
	best := matchNone
	for _, a := range p.AWS {
		switch {
		case a == req.PrincipalARN:
			return matchDirect
		case a == RootARN(req.PrincipalAccount):
			best = matchAccount
		}
	}
	return best
}

// wildcard matches s against pattern, where * matches any run of
// characters (none included) and ? any one character; fold makes the
// match case-insensitive (actions), otherwise it is exact (ARNs).
func wildcard(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	// The classic greedy match with one backtrack point: linear in
	// practice, and never exponential, whatever the pattern.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func (r Reason) String() string {
	switch r {
	case Allowed:
		return "allowed"
	case DenyIdentityExplicit:
		return "explicit deny in an identity-based policy"
	case DenyResourceExplicit:
		return "explicit deny in a resource-based policy"
	case DenyNoIdentityAllow:
		return "no identity-based policy allows"
	case DenyNoResourceAllow:
		return "no resource-based policy allows"
	}
	return "unknown reason"
}

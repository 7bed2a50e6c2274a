package jetstream

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestNoPeersYet: the refusal a node meets when it creates its streams
// before the metadata leader has heard from every peer is waited out, and
// nothing else is taken for it.
func TestNoPeersYet(t *testing.T) {
	noPeers := &jetstream.APIError{Code: 400, ErrorCode: 10005, Description: "no suitable peers for placement, peer offline"}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"the refusal", noPeers, true},
		{"wrapped", fmt.Errorf("create stream: %w", noPeers), true},
		{"another API error", &jetstream.APIError{Code: 400, ErrorCode: 10058, Description: "stream name already in use"}, false},
		{"not an API error", errors.New("no suitable peers"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := noPeersYet(tt.err); got != tt.want {
				t.Errorf("noPeersYet(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

package jetstream

import (
	"strings"
	"testing"
)

// The Raft timing is one per process: the default (or the first asked
// for) is set, another is refused with a message that says why, and one
// too short is refused outright.
func TestRaftTimingIsOnePerProcess(t *testing.T) {
	if err := setRaftTiming(0); err != nil {
		t.Fatalf("the default timing: %v", err)
	}
	if natsMinElectionTimeout != DefaultElectionTimeout || natsMaxElectionTimeout != 2*DefaultElectionTimeout ||
		natsHeartbeatInterval != DefaultElectionTimeout/4 || natsLostQuorumInterval != DefaultElectionTimeout*5/2 {
		t.Errorf("nats-server's timing is %v-%v, heartbeats %v, lost quorum %v; want from %v",
			natsMinElectionTimeout, natsMaxElectionTimeout, natsHeartbeatInterval, natsLostQuorumInterval, DefaultElectionTimeout)
	}
	if err := setRaftTiming(DefaultElectionTimeout); err != nil {
		t.Errorf("the same timing again: %v", err)
	}
	err := setRaftTiming(3 * DefaultElectionTimeout)
	if err == nil || !strings.Contains(err.Error(), "one per process") {
		t.Errorf("another timing: %v, want refused as one per process", err)
	}
	if err := setRaftTiming(DefaultElectionTimeout / 20); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("100ms: %v, want refused as too short", err)
	}
}

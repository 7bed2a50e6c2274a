package jetstream

import (
	"fmt"
	"sync"
	"time"
	_ "unsafe" // go:linkname

	_ "github.com/nats-io/nats-server/v2/server" // the variables below
)

// Raft timing, and why the engine reaches into nats-server for it.
//
// A stream whose leader dies gets a new one once a follower has heard
// nothing for its election timeout, which nats-server draws between 4 and
// 9 seconds, with heartbeats every second: timings for clusters spread
// over a WAN. Writes to that stream wait meanwhile; measured here, they
// resumed 4.3 to 7.3 s after a kill -9, where Tributary promises under 5
// s. The server offers no option for them: they are variables of its
// raft.go, read by every Raft group of the process. So the engine sets
// them, before its server starts, through go:linkname. Should a release
// of nats-server rename them, the build fails with a link error rather
// than run with other timings.
//
// From ElectionTimeout T: elections between T and 2T after the leader was
// last heard (nats: 4 s and 9 s), heartbeats every T/4 (1 s), and a
// leader that has not heard from a quorum for 2.5T (10 s) steps down,
// which also bounds how long a leader cut off with a minority answers
// reads. The ratios are nats-server's own.

//go:linkname natsMinElectionTimeout github.com/nats-io/nats-server/v2/server.minElectionTimeout
var natsMinElectionTimeout time.Duration

//go:linkname natsMaxElectionTimeout github.com/nats-io/nats-server/v2/server.maxElectionTimeout
var natsMaxElectionTimeout time.Duration

//go:linkname natsHeartbeatInterval github.com/nats-io/nats-server/v2/server.hbInterval
var natsHeartbeatInterval time.Duration

//go:linkname natsLostQuorumInterval github.com/nats-io/nats-server/v2/server.lostQuorumInterval
var natsLostQuorumInterval time.Duration

//go:linkname natsLostQuorumCheck github.com/nats-io/nats-server/v2/server.lostQuorumCheck
var natsLostQuorumCheck time.Duration

// DefaultElectionTimeout is Cluster.ElectionTimeout's default: writes to
// a stream whose leader died resume within 2 to 4 s and the time to
// elect (well under a second on a LAN).
const DefaultElectionTimeout = 2 * time.Second

// raftTiming is the process's Raft timing: the variables are shared by
// every server in the process and read by their goroutines without a
// lock, so they are written once, before the first server starts, and
// never again. A later engine asking for another timing is refused.
var raftTiming struct {
	once     sync.Once
	election time.Duration
}

// setRaftTiming sets the process's Raft timing from an election timeout,
// or checks that it is the one set already.
func setRaftTiming(election time.Duration) error {
	if election <= 0 {
		election = DefaultElectionTimeout
	}
	if election < 200*time.Millisecond {
		return fmt.Errorf("jetstream: election timeout %v is too short (at least 200ms)", election)
	}
	raftTiming.once.Do(func() {
		raftTiming.election = election
		natsMinElectionTimeout = election
		natsMaxElectionTimeout = 2 * election
		natsHeartbeatInterval = election / 4
		natsLostQuorumInterval = election * 5 / 2
		natsLostQuorumCheck = election * 5 / 2
	})
	if raftTiming.election != election {
		return fmt.Errorf("jetstream: election timeout %v asked, but this process's embedded servers run with %v (it is one per process)", election, raftTiming.election)
	}
	return nil
}

// Package jetstream is a storage engine on an embedded NATS server with
// JetStream: a single node (R1), or a node of a replicated cluster
// (Options.Cluster, cluster.go) whose streams and buckets JetStream
// replicates itself (Raft per stream) on Cluster.Replicas nodes. The
// layout below is the same either way.
//
// Layout and why:
//
//   - Logs are subjects, "trib.log.<placement>.<id>", of a few JetStream
//     streams (Options.Placements: 4 on one node, one per replica set
//     in a cluster), not one stream each: every
//     replicated stream is a Raft group with its own heartbeats and
//     timers, and 4,000 R3 streams cost a full core idle on the machine
//     issue 17 measured. A placement is the unit a cluster will spread over
//     nodes. The id is random per CreateLog, so a log re-created under a
//     deleted name never meets its predecessor's messages.
//   - One Append is in one message: atomic and contiguous by construction,
//     and one fsync (under sync_interval: always the filestore writes
//     O_SYNC, so a message per record would cost an fsync per record).
//     Appends to one log queued while its message is stored share the next
//     one, each with its own contiguous positions, and the next waits
//     briefly for the appends the last one suggests are coming back
//     (groupcommit.go, Options.GroupWait). A record's
//     position is its message's stream sequence shifted left 16 bits plus
//     its index in the batch (message.go): increasing within a log and not
//     contiguous, which the storage contract allows.
//   - Every write is fsynced before it is acknowledged (the server's
//     SyncAlways): Jepsen's 2025 report on NATS lost acknowledged writes
//     under the default lazy fsync.
//   - Arrival times come from the engine's clock and travel in the message
//     body; never decreasing along a log, they let reads by time and
//     retention find their first message by binary search over sequences
//     with direct gets (read.go), with no index to keep.
//   - Reads are direct gets in batches by subject from a sequence
//     (directget.go), answered without the stream's API queue.
//   - Sealing and deleting are fences written into the subject: a seal or
//     tombstone marker message. Every write carries
//     Nats-Expected-Last-Subject-Sequence, so no batch is ever stored
//     after a marker, from whatever node (the argument is at
//     logState.publish); only a tombstone may follow a seal. A tombstone
//     stays after the purge of the rest, so a stale handle's append still
//     fails.
//   - Retention is the engine's, by arrival time: reads skip what it no
//     longer keeps, and a trimmer (trim.go) purges each subject up to its
//     first kept message every minute (PurgeStream with a subject filter
//     and a sequence), always keeping the last message, which carries the
//     tail.
//   - The catalogue (storage.MetaStore) and the list of logs are two
//     key-value buckets with a history of one; a key's revision is the
//     bucket's sequence, and CompareAndSwap is the bucket's Create and
//     Update with the last revision.
//   - Tails (last position, arrival, seal) are cached per engine and moved
//     by the writer's acknowledgement and by the stream's headers-only
//     republication of every stored message (subscribe.go), so Wait wakes
//     for appends made through any writer, and so will it on any node.
//
// In a cluster (cluster.go): every node's engine serves every log.
// Writes go to the stream's leader, which orders and fences them; reads
// ask the leader for the subject's last sequence and read by direct gets
// from a replica until it has reached it, so that no read misses a write
// acknowledged before it began, through any node; waiters are woken by
// the leader's republications, and ask the leader every second in case
// one was lost with a dying leader; an append whose answer was lost in an
// election is resent with its message id, stored once. Open waits for a
// metadata leader (a majority of the nodes) and creates the streams and
// buckets with their replicas, idempotently on every node.
//
// Nodes are added and drained (move.go) by asking nats-server to evacuate
// a node's replica of one stream at a time: a replacement replica is
// caught up before the old one is dropped, so writes go on throughout
// and no stream is ever short of replicas. The metadata group's changes
// (a leader's step-down, a node's removal) need the server's system
// account: a cluster node's server has two users, the engine's in the
// global account and a system one, both with passwords only the process
// knows (cluster.go). Every node watches the logs bucket, so that a
// log's entry changed through one node (retention, encryption key)
// reaches the others within a round trip (watch.go).
//
// Records are sealed at rest when a log's entry names a key: each message
// with AES-256-GCM under a data key from Options.Keys (crypt.go).
//
// Not yet: a cached log another node deleted is seen as deleted by a read or Info (which
// ask the leader) or once its tombstone's republication arrives.
package jetstream

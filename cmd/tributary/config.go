package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/server"
	jsengine "github.com/tributary-io/tributary/storage/jetstream"
	"github.com/tributary-io/tributary/stream"
)

// Values of --storage.
const (
	storageLocal     = "local"
	storageMemory    = "memory"
	storageDiscard   = "discard"
	storageJetStream = "jetstream"
)

// Values of --auth.
const (
	authOff   = "off"
	authSigV4 = "sigv4"
)

// Values of --sync.
const (
	syncAlways   = "always"
	syncInterval = "interval"
)

// serveConfig is the configuration of "tributary serve".
type serveConfig struct {
	Listen       string
	Storage      string // storageLocal, storageMemory, storageDiscard or storageJetStream
	DataDir      string
	Account      string
	CreateDelay  time.Duration
	DeleteDelay  time.Duration
	UpdateDelay  time.Duration
	LogLevel     slog.Level
	LogFormat    string // "text" or "json"
	Sync         string // syncAlways or syncInterval
	SyncInterval time.Duration
	// The on-demand scaler (stream.Options.Autoscale*).
	OnDemandInterval       time.Duration
	OnDemandSplitThreshold float64
	OnDemandMergeThreshold float64
	OnDemandCooldown       time.Duration
	// Fault injection (see faults.go). AdminToken is the admin API's
	// bearer token; empty with Admin makes serve generate one.
	Admin      bool
	AdminToken string
	FaultsFile string
	// Keyring is the local key provider's file (keyring package) for
	// StartStreamEncryption; empty: none.
	Keyring string
	// Authentication: authOff or authSigV4, and with sigv4 the
	// credentials file (server.LoadCredentials), reloaded on SIGHUP.
	Auth        string
	Credentials string
	// CORSOrigins are the origins browsers may call the Kinesis API from,
	// comma-separated (server.Config.CORSOrigins); empty for none. A
	// string, not a slice, so that configurations compare with ==.
	CORSOrigins string
	// Throttling: stream.LimitsAWS or stream.LimitsOff, and a JSON file of
	// overrides (see limitKeys).
	Limits     string
	LimitsFile string
	// Account quotas; zero means AWS's default for the region.
	ShardLimit          int
	OnDemandStreamLimit int
	// TLS (see tls.go): a certificate and key in PEM files, or a
	// self-signed certificate made at start.
	TLSCert       string
	TLSKey        string
	TLSSelfSigned bool
	// Periods of the background work, and AWS's fixed lifetimes, which
	// tests shorten so that every timer fires many times within seconds.
	CheckpointInterval    time.Duration
	CleanInterval         time.Duration
	GroupCommitWait       time.Duration
	SegmentBytes          int64
	ReapInterval          time.Duration
	IteratorLifetime      time.Duration
	DedupWindow           time.Duration
	SubscriptionLifetime  time.Duration
	SubscriptionHeartbeat time.Duration
	RetentionHour         time.Duration
	// The HTTP front's protection against slow and large requests
	// (server.Config).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	BodyBudget        int64
	// How long /health/ready answers 503 after SIGTERM before the
	// listener closes.
	ShutdownDelay time.Duration

	// MetricsListen, when not empty, is a second address serving only
	// GET /metrics, in plain HTTP; the main address serves it as well.
	MetricsListen string

	// A cluster (storage/jetstream.Cluster): its name, empty for a single
	// node; this node's name; the route addresses of the nodes,
	// comma-separated (a string, like CORSOrigins, so that configurations
	// compare with ==); how many nodes hold each stream; and the address
	// this node takes routes on.
	Cluster       string
	Node          string
	Peers         string
	Replicas      int
	ClusterListen string
	// ElectionTimeout is the Raft timing of the cluster's streams.
	ElectionTimeout time.Duration
	// Placements is how many JetStream streams new logs are spread over
	// (storage/jetstream.Options.Placements).
	Placements int
	// JetStreamGroupWait is storage/jetstream.Options.GroupWait; 0 here
	// is never.
	JetStreamGroupWait time.Duration
}

// defaultServeConfig is the configuration without flags or environment.
func defaultServeConfig() serveConfig {
	return serveConfig{
		Listen:       "127.0.0.1:4567",
		Storage:      storageLocal,
		DataDir:      "./tributary-data",
		Account:      "000000000000",
		CreateDelay:  500 * time.Millisecond,
		DeleteDelay:  500 * time.Millisecond,
		UpdateDelay:  500 * time.Millisecond,
		LogLevel:     slog.LevelInfo,
		LogFormat:    "text",
		Sync:         syncAlways,
		SyncInterval: 100 * time.Millisecond,
		// stream's defaults, repeated so that --help shows them.
		OnDemandInterval:       time.Minute,
		OnDemandSplitThreshold: 0.8,
		OnDemandMergeThreshold: 0.2,
		OnDemandCooldown:       15 * time.Minute,
		Limits:                 stream.LimitsAWS,
		Auth:                   authOff,
		// storage/local's and stream's defaults, and AWS's lifetimes.
		CheckpointInterval:    10 * time.Second,
		CleanInterval:         time.Minute,
		GroupCommitWait:       200 * time.Microsecond,
		SegmentBytes:          64 << 20,
		ReapInterval:          time.Second,
		IteratorLifetime:      5 * time.Minute,
		DedupWindow:           5 * time.Minute,
		SubscriptionLifetime:  5 * time.Minute,
		SubscriptionHeartbeat: 5 * time.Second,
		RetentionHour:         time.Hour,
		// server's defaults, likewise.
		ReadHeaderTimeout:  server.DefaultReadHeaderTimeout,
		ReadTimeout:        server.DefaultReadTimeout,
		IdleTimeout:        server.DefaultIdleTimeout,
		BodyBudget:         server.DefaultBodyBudget,
		Replicas:           3,
		ElectionTimeout:    jsengine.DefaultElectionTimeout,
		JetStreamGroupWait: jsengine.DefaultGroupWait,
	}
}

// serveOption is one setting of "tributary serve": a flag, the environment
// variable that sets it too, and its documentation. serveOptions
// lists them in the order of the help text.
type serveOption struct {
	flag  string
	env   string
	arg   string // placeholder for the value in the help text
	usage string
	value func(cfg *serveConfig) flag.Value // binds the option to a field of cfg
}

func serveOptions() []serveOption {
	return []serveOption{
		{
			flag: "listen", env: "TRIBUTARY_LISTEN", arg: "host:port",
			usage: "TCP address to listen on. HTTP/1.1 and unencrypted HTTP/2 (prior knowledge and h2c Upgrade) share the port. Port 0 picks a free port.",
			value: func(c *serveConfig) flag.Value { return &listenValue{s: &c.Listen} },
		},
		{
			flag: "metrics-listen", env: "TRIBUTARY_METRICS_LISTEN", arg: "host:port",
			usage: "Also serve Prometheus metrics (GET /metrics, no authentication) on this TCP address, in plain HTTP even with TLS on the main address, for a scraper kept apart from the clients. The main address serves /metrics all the same, so one scrape configuration works with or without it. Empty: only the main address.",
			value: func(c *serveConfig) flag.Value { return &listenValue{s: &c.MetricsListen, optional: true} },
		},
		{
			flag: "storage", env: "TRIBUTARY_STORAGE", arg: "engine",
			usage: "Where records are kept. local: on disk in --data-dir. jetstream: on disk in --data-dir, in an embedded NATS JetStream server that fsyncs every write before it is acknowledged; the engine of a cluster (--cluster implies it). memory: in memory only, lost at exit; for tests and CI. discard: records are thrown away as soon as they are acknowledged and reads return none; only for measuring the server's upper bound in benchmarks.",
			value: func(c *serveConfig) flag.Value {
				return &choiceValue{&c.Storage, []string{storageLocal, storageJetStream, storageMemory, storageDiscard}}
			},
		},
		{
			flag: "cluster", env: "TRIBUTARY_CLUSTER", arg: "name",
			usage: "Run as a node of the cluster of this name (letters, digits, '-' and '_'; the same on every node), with --storage jetstream: any node answers any request, and each stream's records are replicated on --replicas nodes, acknowledged once a majority of them have them on disk. Needs --node, --peers and --cluster-listen. The node is ready (/health/ready) once a majority of the nodes are up and its storage is reachable. Empty: a single node.",
			value: func(c *serveConfig) flag.Value { return &nameValue{&c.Cluster} },
		},
		{
			flag: "node", env: "TRIBUTARY_NODE", arg: "id",
			usage: "With --cluster, this node's name, unique in the cluster and the same across restarts: letters, digits, '-' and '_'.",
			value: func(c *serveConfig) flag.Value { return &nameValue{&c.Node} },
		},
		{
			flag: "peers", env: "TRIBUTARY_PEERS", arg: "host:port,...",
			usage: "With --cluster, the --cluster-listen addresses of the cluster's nodes, comma-separated; this node's own may be among them, so that every node can be given the same list.",
			value: func(c *serveConfig) flag.Value { return &peersValue{&c.Peers} },
		},
		{
			flag: "replicas", env: "TRIBUTARY_REPLICAS", arg: "n",
			usage: "With --cluster, how many nodes hold each stream's records and the catalogue, from 1 to 5 and at most the number of nodes. 3 survives the loss of one node; 5 of two.",
			value: func(c *serveConfig) flag.Value { return &countValue{&c.Replicas} },
		},
		{
			flag: "cluster-listen", env: "TRIBUTARY_CLUSTER_LISTEN", arg: "host:port",
			usage: "With --cluster, the TCP address the node takes its peers' connections (routes) on. Not authenticated nor encrypted: keep it on a private network.",
			value: func(c *serveConfig) flag.Value { return &listenValue{s: &c.ClusterListen, optional: true} },
		},
		{
			flag: "election-timeout", env: "TRIBUTARY_ELECTION_TIMEOUT", arg: "duration",
			usage: "With --cluster, how long the replicas of a stream wait without hearing from its leader before they elect another: between this and twice it (nats-server's own default is 4s). Writes to the streams a dead node led resume after about that long. Leaders send heartbeats every quarter of it, and one that cannot reach a majority for 2.5 times it steps down. Use the same on every node; raise it for nodes far apart or heavily loaded. At least 200ms.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.ElectionTimeout, positive: true} },
		},
		{
			flag: "placements", env: "TRIBUTARY_PLACEMENTS", arg: "n",
			usage: "With --storage jetstream (and --cluster), how many replicated JetStream streams new shards are spread over, from 1 to 64; 0, the default, is 4 on one node and, with --cluster, one for every --replicas nodes named by --peers and --cluster-listen (1 for 3 nodes and R3). Each is a Raft group whose leader orders its writes. In a cluster, fewer put more writes in each Raft round and fsync: 3 nodes with R3 on one machine ingest 1.15 times as much with 1 as with 4. More spread the leaders' work and, in a cluster of more nodes than --replicas, the data over more nodes. Existing shards stay where they are, so it may change between restarts and differ between nodes.",
			value: func(c *serveConfig) flag.Value { return &countValue{&c.Placements} },
		},
		{
			flag: "jetstream-group-wait", env: "TRIBUTARY_JETSTREAM_GROUP_WAIT", arg: "duration",
			usage: "With --storage jetstream (and --cluster), the longest a shard's next write waits for as many appends as were in flight or queued on the shard when its last write was answered, so that producers answered together are stored together again, in one replicated write rather than two or three (4 producers on 16 shards on a 3-node cluster on one machine: 1.3 to 1.5 times the ingest at the median). A lone writer never waits, and the wait adapts: one that ends with too few halves the next, so calls at a steady rate soon stop waiting; shards waiting for writers whose PutRecords waits on another of them all stop waiting at once. A few calls in flight at a slow steady rate may still wait up to it each time: lower it for them. 0: never wait.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.JetStreamGroupWait} },
		},
		{
			flag: "data-dir", env: "TRIBUTARY_DATA_DIR", arg: "dir",
			usage: "Directory that holds the streams' data with --storage local or jetstream; created if missing. Unused by the other engines.",
			value: func(c *serveConfig) flag.Value { return &nonEmptyValue{&c.DataDir} },
		},
		{
			flag: "account", env: "TRIBUTARY_ACCOUNT", arg: "id",
			usage: "12-digit AWS account id that owns the streams, as it appears in ARNs, with --auth off. With --auth sigv4 each request acts in its key's account instead.",
			value: func(c *serveConfig) flag.Value { return &accountValue{&c.Account} },
		},
		{
			flag: "create-delay", env: "TRIBUTARY_CREATE_DELAY", arg: "duration",
			usage: "How long a new stream stays CREATING before it becomes ACTIVE. 0 makes it ACTIVE at once.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.CreateDelay} },
		},
		{
			flag: "delete-delay", env: "TRIBUTARY_DELETE_DELAY", arg: "duration",
			usage: "How long a deleted stream stays DELETING before it is gone. 0 removes it at once.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.DeleteDelay} },
		},
		{
			flag: "update-delay", env: "TRIBUTARY_UPDATE_DELAY", arg: "duration",
			usage: "How long a stream stays UPDATING after a change such as resharding or a new retention period. 0 applies changes at once.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.UpdateDelay} },
		},
		{
			flag: "log-level", env: "TRIBUTARY_LOG_LEVEL", arg: "level",
			usage: "Least severe log level written: debug, info, warn or error. debug logs every request.",
			value: func(c *serveConfig) flag.Value { return &levelValue{&c.LogLevel} },
		},
		{
			flag: "log-format", env: "TRIBUTARY_LOG_FORMAT", arg: "format",
			usage: "Log format: text (key=value) or json.",
			value: func(c *serveConfig) flag.Value { return &choiceValue{&c.LogFormat, []string{"text", "json"}} },
		},
		{
			flag: "sync", env: "TRIBUTARY_SYNC", arg: "mode",
			usage: "When writes are flushed to disk with --storage local. always: fsync before acknowledging a write, so an acknowledged record survives a crash. interval: fsync every --sync-interval; faster, but a crash may lose the writes of the last interval.",
			value: func(c *serveConfig) flag.Value { return &choiceValue{&c.Sync, []string{syncAlways, syncInterval}} },
		},
		{
			flag: "sync-interval", env: "TRIBUTARY_SYNC_INTERVAL", arg: "duration",
			usage: "Time between fsyncs with --sync=interval. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.SyncInterval, positive: true} },
		},
		{
			flag: "group-commit-wait", env: "TRIBUTARY_GROUP_COMMIT_WAIT", arg: "duration",
			usage: "With --storage local and --sync always, the longest a group commit waits for writes already under way when it begins, so that the shards of one PutRecords share one fsync rather than wait for two. 0: never wait.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.GroupCommitWait} },
		},
		{
			flag: "ondemand-interval", env: "TRIBUTARY_ONDEMAND_INTERVAL", arg: "duration",
			usage: "How often ON_DEMAND streams are scaled to their traffic, and the span their shards' write rates are measured over. At most one shard of a stream is split or merged each time. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.OnDemandInterval, positive: true} },
		},
		{
			flag: "ondemand-split-threshold", env: "TRIBUTARY_ONDEMAND_SPLIT_THRESHOLD", arg: "fraction",
			usage: "A shard of an ON_DEMAND stream writing more than this fraction of a shard's capacity (1 MiB/s or 1000 records/s, whichever is nearer, or the shard write limits of --limits-file) is split in two. From 0 (exclusive) to 1.",
			value: func(c *serveConfig) flag.Value { return &fractionValue{&c.OnDemandSplitThreshold} },
		},
		{
			flag: "ondemand-merge-threshold", env: "TRIBUTARY_ONDEMAND_MERGE_THRESHOLD", arg: "fraction",
			usage: "Two adjacent shards of an ON_DEMAND stream, split from one shard, that both write less than this fraction of a shard's capacity for --ondemand-cooldown are merged back, never below 4 open shards. Must be below half --ondemand-split-threshold.",
			value: func(c *serveConfig) flag.Value { return &fractionValue{&c.OnDemandMergeThreshold} },
		},
		{
			flag: "ondemand-cooldown", env: "TRIBUTARY_ONDEMAND_COOLDOWN", arg: "duration",
			usage: "How long two shards of an ON_DEMAND stream must stay under --ondemand-merge-threshold before they are merged. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.OnDemandCooldown, positive: true} },
		},
		{
			flag: "auth", env: "TRIBUTARY_AUTH", arg: "mode",
			usage: "How requests are authenticated. off: any well-formed SigV4 signature is accepted without checking it, and every request acts as --account's root; for local development. sigv4: signatures are verified as AWS does, against the keys of --credentials, and each request acts in its key's account. Session tokens (temporary credentials) are refused either way.",
			value: func(c *serveConfig) flag.Value { return &choiceValue{&c.Auth, []string{authOff, authSigV4}} },
		},
		{
			flag: "credentials", env: "TRIBUTARY_CREDENTIALS", arg: "file",
			usage: `With --auth sigv4 (required then), the access keys accepted: a TOML file of [[credentials]] tables, or JSON {"credentials": [...]} if its name ends in .json, each with access_key_id, secret_access_key, account_id (12 digits), and optionally name (the key is then the IAM user arn:aws:iam::ACCOUNT:user/NAME, else the account's root) and policy (an identity policy document, as a JSON string). Read again on SIGHUP without dropping connections; a file that does not load then keeps the keys in force and logs an error.`,
			value: func(c *serveConfig) flag.Value { return &fileValue{&c.Credentials} },
		},
		{
			flag: "cors-origins", env: "TRIBUTARY_CORS_ORIGINS", arg: "origins",
			usage: "Comma-separated origins (scheme://host[:port]) whose web pages may call the Kinesis API from a browser, or * for any. Empty: CORS is off, and browsers refuse cross-origin calls.",
			value: func(c *serveConfig) flag.Value { return &originsValue{&c.CORSOrigins} },
		},
		{
			flag: "admin", env: "TRIBUTARY_ADMIN", arg: "",
			usage: "Serve the admin API under /_tributary/ on the same port, with the --admin-token: fault injection (tributary faults --help) and the process's stats. Cross-origin requests to it are refused. Only for tests.",
			value: func(c *serveConfig) flag.Value { return &boolValue{&c.Admin} },
		},
		{
			flag: "admin-token", env: adminTokenEnv, arg: "token",
			usage: "The bearer token the admin API requires (Authorization: Bearer TOKEN; tributary faults --admin-token), at least 16 characters. Empty with --admin: a random one is made at start and logged once, at info level. With --cluster, it also turns on tributary cluster add and drain (POST /_tributary/cluster/...), even without --admin.",
			value: func(c *serveConfig) flag.Value { return &tokenValue{&c.AdminToken} },
		},
		{
			flag: "tls-cert", env: "TRIBUTARY_TLS_CERT", arg: "file",
			usage: "Serve HTTPS (HTTP/2 and HTTP/1.1, chosen by ALPN) on the listen address with this PEM certificate (chain); needs --tls-key.",
			value: func(c *serveConfig) flag.Value { return &fileValue{&c.TLSCert} },
		},
		{
			flag: "tls-key", env: "TRIBUTARY_TLS_KEY", arg: "file",
			usage: "PEM private key of --tls-cert.",
			value: func(c *serveConfig) flag.Value { return &fileValue{&c.TLSKey} },
		},
		{
			flag: "tls-self-signed", env: "TRIBUTARY_TLS_SELF_SIGNED", arg: "",
			usage: "Serve HTTPS with a self-signed certificate for localhost and 127.0.0.1 made at start and kept in memory; its SHA-256 fingerprint is logged. Not with --tls-cert.",
			value: func(c *serveConfig) flag.Value { return &boolValue{&c.TLSSelfSigned} },
		},
		{
			flag: "read-header-timeout", env: "TRIBUTARY_READ_HEADER_TIMEOUT", arg: "duration",
			usage: "Longest time a client may take to send a request's headers, or the TLS handshake or HTTP/2 preface of a new connection, before the server closes the connection. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.ReadHeaderTimeout, positive: true} },
		},
		{
			flag: "read-timeout", env: "TRIBUTARY_READ_TIMEOUT", arg: "duration",
			usage: "Longest time a client may take to send a whole request, headers and body, waiting for --body-budget included; a late body is answered 408 RequestTimeoutException. Responses are not limited by it: SubscribeToShard sessions last their 5 minutes. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.ReadTimeout, positive: true} },
		},
		{
			flag: "idle-timeout", env: "TRIBUTARY_IDLE_TIMEOUT", arg: "duration",
			usage: "Connections with no request in progress (HTTP/1.1 between requests, HTTP/2 without open streams) are closed after this long. Keep it above your clients' own idle timeout (Go: 90s), so that they never send a request on a connection being closed. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.IdleTimeout, positive: true} },
		},
		{
			flag: "body-budget", env: "TRIBUTARY_BODY_BUDGET", arg: "size",
			usage: "Most memory held at once for request bodies and their decoding, over all connections, such as 256MiB or 1GiB; a body counts 4 times its size, the most decoding one was measured to keep live. A request whose body does not fit is answered 503 ServiceUnavailable, which AWS SDKs retry: over HTTP/1.1 after waiting up to 2s for room, over HTTP/2 at once (a stream waiting with its body unread would hold up the other streams of its connection). At least 128MiB: 4 times 32MiB, the largest body accepted; larger ones are answered 413.",
			value: func(c *serveConfig) flag.Value { return &sizeValue{n: &c.BodyBudget, min: server.MinBodyBudget} },
		},
		{
			flag: "shutdown-delay", env: "TRIBUTARY_SHUTDOWN_DELAY", arg: "duration",
			usage: "After SIGTERM or SIGINT, how long to go on serving while GET /health/ready answers 503, so that load balancers and orchestrators polling it stop sending requests before the listener closes. Then new connections are refused and in-flight requests get up to 30s to finish. 0 closes the listener at once.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.ShutdownDelay} },
		},
		{
			flag: "keyring", env: "TRIBUTARY_KEYRING", arg: "file",
			usage: "Keys for encryption at rest (StartStreamEncryption), TOML or JSON: [[key]] tables of id (a UUID), aliases (alias/NAME), disabled, and versions (base64 of 32 random bytes, oldest first; the last encrypts). Read again on SIGHUP. See docs/security.md.",
			value: func(c *serveConfig) flag.Value { return &fileValue{&c.Keyring} },
		},
		{
			flag: "faults-file", env: "TRIBUTARY_FAULTS_FILE", arg: "file",
			usage: `Load fault rules from this JSON file at start: {"seed": N, "rules": [...]}, each rule as "tributary faults add" sends it. Faults apply even without --admin.`,
			value: func(c *serveConfig) flag.Value { return &fileValue{&c.FaultsFile} },
		},
		{
			flag: "limits", env: "TRIBUTARY_LIMITS", arg: "profile",
			usage: "Throttling. aws: AWS's default quotas; a shard takes 1 MiB/s and 1000 records/s of writes and 5 GetRecords calls/s and 2 MiB/s of reads (a larger response blocks reads for as long as it took of that rate, 5s for 10 MiB), beyond which ProvisionedThroughputExceededException; control-plane calls beyond their rates get LimitExceededException. off: nothing is throttled, for benchmarks and load tests.",
			value: func(c *serveConfig) flag.Value {
				return &choiceValue{&c.Limits, []string{stream.LimitsAWS, stream.LimitsOff}}
			},
		},
		{
			flag: "limits-file", env: "TRIBUTARY_LIMITS_FILE", arg: "file",
			usage: `Override limits of --limits aws from this JSON file, an object of positive integers per second such as {"shard_write_records_per_sec": 2000}. shard_write_bytes_per_sec and shard_write_records_per_sec are also the shard capacity the on-demand scaler measures against, with --limits off too. Keys: ` + limitKeysText() + ".",
			value: func(c *serveConfig) flag.Value { return &fileValue{&c.LimitsFile} },
		},
		{
			flag: "shard-limit", env: "TRIBUTARY_SHARD_LIMIT", arg: "n",
			usage: "Open shards of provisioned streams an account may have in a region, as DescribeLimits reports it; CreateStream, SplitShard and UpdateShardCount beyond it get LimitExceededException. 0 means AWS's default quota: 20000 in us-east-1, us-west-2 and eu-west-1, 1000 elsewhere.",
			value: func(c *serveConfig) flag.Value { return &countValue{&c.ShardLimit} },
		},
		{
			flag: "on-demand-stream-limit", env: "TRIBUTARY_ON_DEMAND_STREAM_LIMIT", arg: "n",
			usage: "ON_DEMAND streams an account may have in a region. 0 means AWS's default quota, 50.",
			value: func(c *serveConfig) flag.Value { return &countValue{&c.OnDemandStreamLimit} },
		},
		// Background periods and lifetimes. The defaults are right for
		// production; tests shorten them.
		{
			flag: "checkpoint-interval", env: "TRIBUTARY_CHECKPOINT_INTERVAL", arg: "duration",
			usage: "With --storage local, how often the segments written since the last checkpoint are fsynced and the journal they make redundant is deleted (also whenever the journal reaches 64 MiB). Bounds the journal replayed after a crash. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.CheckpointInterval, positive: true} },
		},
		{
			flag: "clean-interval", env: "TRIBUTARY_CLEAN_INTERVAL", arg: "duration",
			usage: "With --storage local, how often segments whose records have all passed their stream's retention period are deleted. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.CleanInterval, positive: true} },
		},
		{
			flag: "segment-bytes", env: "TRIBUTARY_SEGMENT_BYTES", arg: "size",
			usage: "With --storage local, the size at which a shard's log starts a new segment file, in bytes or with a unit (KiB, MiB, GiB). Retention frees space a whole segment at a time, so smaller segments free it sooner, at the cost of more files. At least 4KiB.",
			value: func(c *serveConfig) flag.Value { return &sizeValue{n: &c.SegmentBytes, min: 4096} },
		},
		{
			flag: "reap-interval", env: "TRIBUTARY_REAP_INTERVAL", arg: "duration",
			usage: "How often deletions and reshards left unfinished (by a crash, or an error to retry) are looked for and finished. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.ReapInterval, positive: true} },
		},
		{
			flag: "iterator-lifetime", env: "TRIBUTARY_ITERATOR_LIFETIME", arg: "duration",
			usage: "How long a shard iterator stays valid before GetRecords answers ExpiredIteratorException. AWS's is 5 minutes; change it only to test how clients cope. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.IteratorLifetime, positive: true} },
		},
		{
			flag: "dedup-window", env: "TRIBUTARY_DEDUP_WINDOW", arg: "duration",
			usage: "How far back the logs are read, after a restart or a reshard, to recognise an aggregate Tributary's producer sends again after a lost answer, which is then stored once (a Tributary extension; records without the producer's IDs are not affected). Copies sent later than this after the first may be stored twice. 0 turns the recognition off.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.DedupWindow} },
		},
		{
			flag: "subscription-lifetime", env: "TRIBUTARY_SUBSCRIPTION_LIFETIME", arg: "duration",
			usage: "How long a SubscribeToShard session lasts before the server ends it and the client subscribes again. AWS's is 5 minutes. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.SubscriptionLifetime, positive: true} },
		},
		{
			flag: "subscription-heartbeat", env: "TRIBUTARY_SUBSCRIPTION_HEARTBEAT", arg: "duration",
			usage: "The longest an idle SubscribeToShard session goes without an event. AWS's is 5 seconds. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.SubscriptionHeartbeat, positive: true} },
		},
		{
			flag: "retention-hour", env: "TRIBUTARY_RETENTION_HOUR", arg: "duration",
			usage: "How long one hour of a stream's retention period lasts. Only for tests: with 1s, the default 24-hour retention lets records expire after 24 seconds. Applies to retention periods set while it is in force. Must be positive.",
			value: func(c *serveConfig) flag.Value { return &durationValue{d: &c.RetentionHour, positive: true} },
		},
	}
}

// limitKey is a key of --limits-file and the stream.Limits field it sets.
type limitKey struct {
	key string
	v   *int
}

// limitKeys are the keys of --limits-file for l, in the help text's order.
// stream.Limits documents AWS's value of each.
func limitKeys(l *stream.Limits) []limitKey {
	return []limitKey{
		{"shard_write_bytes_per_sec", &l.ShardWriteBytesPerSec},
		{"shard_write_records_per_sec", &l.ShardWriteRecordsPerSec},
		{"shard_read_calls_per_sec", &l.ShardReadCallsPerSec},
		{"shard_read_bytes_per_sec", &l.ShardReadBytesPerSec},
		{"create_stream_per_sec", &l.CreateStreamPerSec},
		{"delete_stream_per_sec", &l.DeleteStreamPerSec},
		{"list_streams_per_sec", &l.ListStreamsPerSec},
		{"describe_stream_per_sec", &l.DescribeStreamPerSec},
		{"describe_stream_summary_per_sec", &l.DescribeStreamSummaryPerSec},
		{"describe_limits_per_sec", &l.DescribeLimitsPerSec},
		{"list_shards_per_sec", &l.ListShardsPerSec},
		{"get_shard_iterator_per_sec", &l.GetShardIteratorPerSec},
		{"split_shard_per_sec", &l.SplitShardPerSec},
		{"merge_shards_per_sec", &l.MergeShardsPerSec},
		{"tags_per_sec", &l.TagsPerSec},
		{"dry_run_per_sec", &l.DryRunPerSec},
	}
}

func limitKeysText() string {
	var names []string
	for _, k := range limitKeys(&stream.Limits{}) {
		names = append(names, k.key)
	}
	return strings.Join(names, ", ")
}

// streamLimits is the stream.Limits cfg asks for: the profile, and the
// overrides of cfg.LimitsFile read from it.
func streamLimits(cfg serveConfig) (stream.Limits, error) {
	l := stream.Limits{Profile: cfg.Limits}
	if cfg.LimitsFile == "" {
		return l, nil
	}
	b, err := os.ReadFile(cfg.LimitsFile)
	if err != nil {
		return stream.Limits{}, fmt.Errorf("limits file: %w", err)
	}
	if err := parseLimits(b, &l); err != nil {
		return stream.Limits{}, fmt.Errorf("limits file %s: %w", cfg.LimitsFile, err)
	}
	return l, nil
}

// parseLimits sets l's fields from a JSON object of limitKeys. Unknown keys
// are errors: a misspelt key silently keeping AWS's value would mislead.
func parseLimits(b []byte, l *stream.Limits) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("must be a JSON object: %w", err)
	}
	keys := limitKeys(l)
	for name, raw := range m {
		i := slices.IndexFunc(keys, func(k limitKey) bool { return k.key == name })
		if i < 0 {
			return fmt.Errorf("unknown key %q; keys are %s", name, limitKeysText())
		}
		var n int
		if err := json.Unmarshal(raw, &n); err != nil || n <= 0 {
			return fmt.Errorf("%s must be a positive integer, got %s", name, raw)
		}
		*keys[i].v = n
	}
	return nil
}

// serveCommand is what the command line of "tributary serve" asks for:
// a configuration, and whether to print it rather than serve.
type serveCommand struct {
	cfg         serveConfig
	configFile  string // --config or TRIBUTARY_CONFIG; "" for none
	printConfig bool
}

// parseServeArgs returns the configuration given by the command-line
// arguments, the environment (read through lookupEnv) and the config file
// they name. It returns flag.ErrHelp if the arguments ask for help.
func parseServeArgs(args []string, lookupEnv func(string) (string, bool)) (serveConfig, error) {
	cmd, err := parseServeCommand(args, lookupEnv)
	return cmd.cfg, err
}

// serveFlags returns the flag set of "tributary serve", bound to cmd:
// every serve option, and the two flags about the config file, which are
// not options and so cannot be set in it.
func serveFlags(cmd *serveCommand) *flag.FlagSet {
	fs := flag.NewFlagSet("tributary serve", flag.ContinueOnError)
	// Errors and help are printed by the caller, which knows where to.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, o := range serveOptions() {
		fs.Var(o.value(&cmd.cfg), o.flag, o.usage)
	}
	fs.Var(&nonEmptyValue{&cmd.configFile}, "config", "")
	fs.Var(&boolValue{&cmd.printConfig}, "print-config", "")
	return fs
}

// parseServeCommand parses the command line of "tributary serve".
// Each option comes from the first of these that sets it: a flag, its
// environment variable (an empty one counts as unset), the config file,
// the default. A value is checked wherever it comes from, so an invalid
// environment variable is an error even when a flag overrides it.
func parseServeCommand(args []string, lookupEnv func(string) (string, bool)) (serveCommand, error) {
	// The command line alone first: it may name the config file, and its
	// usage errors and --help come before anything is read.
	first := serveCommand{cfg: defaultServeConfig()}
	fs := serveFlags(&first)
	if err := fs.Parse(args); err != nil {
		return serveCommand{}, err
	}
	if fs.NArg() > 0 {
		return serveCommand{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	configFile := first.configFile
	if configFile == "" {
		configFile, _ = lookupEnv(configEnv)
	}

	// Then the layers from the bottom up, each overwriting the one below:
	// the file, the environment, and the command line again.
	cmd := serveCommand{cfg: defaultServeConfig(), configFile: configFile}
	fs = serveFlags(&cmd)
	if configFile != "" {
		if err := applyConfigFile(configFile, serveOptions(), fs.Set); err != nil {
			return serveCommand{}, err
		}
	}
	for _, o := range serveOptions() {
		v, ok := lookupEnv(o.env)
		if !ok || v == "" {
			continue
		}
		if err := fs.Set(o.flag, v); err != nil {
			return serveCommand{}, fmt.Errorf("invalid value %q for %s: %w", v, o.env, err)
		}
	}
	if err := fs.Parse(args); err != nil {
		return serveCommand{}, err
	}
	cfg := cmd.cfg
	switch {
	case cfg.Auth == authSigV4 && cfg.Credentials == "":
		return serveCommand{}, errors.New("--auth sigv4 needs --credentials FILE")
	case cfg.Auth != authSigV4 && cfg.Credentials != "":
		return serveCommand{}, errors.New("--credentials is only read with --auth sigv4")
	}
	if err := checkCluster(&cmd.cfg); err != nil {
		return serveCommand{}, err
	}
	if p := cmd.cfg.Placements; p > 64 {
		return serveCommand{}, fmt.Errorf("--placements %d must be from 1 to 64, or 0 for the default", p)
	}
	// A merge must not make a shard that the next evaluation splits.
	if 2*cfg.OnDemandMergeThreshold >= cfg.OnDemandSplitThreshold {
		return serveCommand{}, fmt.Errorf("--ondemand-merge-threshold %g must be below half --ondemand-split-threshold %g",
			cfg.OnDemandMergeThreshold, cfg.OnDemandSplitThreshold)
	}
	return cmd, nil
}

// checkCluster checks the cluster options together, and makes --cluster
// imply --storage jetstream (local, the default, is taken for unset).
func checkCluster(cfg *serveConfig) error {
	if cfg.Cluster == "" {
		for _, o := range []struct {
			flag string
			set  bool
		}{{"node", cfg.Node != ""}, {"peers", cfg.Peers != ""}, {"cluster-listen", cfg.ClusterListen != ""}} {
			if o.set {
				return fmt.Errorf("--%s is only read with --cluster", o.flag)
			}
		}
		return nil
	}
	switch {
	case cfg.Storage == storageMemory || cfg.Storage == storageDiscard:
		return fmt.Errorf("--cluster keeps records with --storage jetstream, not %s", cfg.Storage)
	case cfg.Node == "":
		return errors.New("--cluster needs --node ID, this node's name in the cluster")
	case cfg.Peers == "":
		return errors.New("--cluster needs --peers host:port,..., the nodes' --cluster-listen addresses")
	case cfg.ClusterListen == "":
		return errors.New("--cluster needs --cluster-listen host:port, where this node takes its peers' connections")
	case cfg.Replicas < 1 || cfg.Replicas > 5:
		return fmt.Errorf("--replicas %d must be from 1 to 5", cfg.Replicas)
	}
	// The peers may list this node or not: it makes len(peers)+1 nodes at
	// most, and replicas beyond the nodes could never be placed.
	if n := len(peerList(cfg.Peers)); cfg.Replicas > n+1 {
		return fmt.Errorf("--replicas %d is more than the %d nodes --peers names", cfg.Replicas, n)
	}
	cfg.Storage = storageJetStream
	return nil
}

// peerList splits --peers.
func peerList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// serveUsage is the help text of "tributary serve".
func serveUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: tributary serve [flags]

Runs the Kinesis Data Streams-compatible server until SIGINT or SIGTERM,
then stops accepting connections, lets in-flight requests finish and exits.
Point AWS clients at it with an endpoint URL, for example:

  aws --endpoint-url http://127.0.0.1:4567 kinesis list-streams

Every flag can also be set with the environment variable shown under it,
and in a config file. A flag given on the command line wins over the
environment, which wins over the config file, which wins over the
default. Durations are written like 500ms, 2s or 1m; sizes like 64MiB.

Config file:
  --config file
        Read options from this TOML file: one key = value a line, the key
        a flag's name without the dashes, the value a string, a number or
        a boolean, such as listen = "0.0.0.0:4567", sync-interval =
        "100ms", admin = true or shard-limit = 500. Unknown keys, tables
        and invalid values are errors naming the file's line. Relative
        paths in it are relative to the working directory, as on the
        command line.
        Environment: ` + configEnv + `. Default: none.
  --print-config
        Print the configuration the flags, environment and config file
        give, as a config file, and exit without serving: a start for
        your own.

Flags:
`)
	def := defaultServeConfig()
	for _, o := range serveOptions() {
		fmt.Fprintf(&b, "  --%s %s\n", o.flag, o.arg)
		for _, line := range wrap(o.usage, 72) {
			fmt.Fprintf(&b, "        %s\n", line)
		}
		fmt.Fprintf(&b, "        Environment: %s. Default: %s.\n", o.env, o.value(&def).String())
	}
	return b.String()
}

// wrap breaks text into lines of at most width bytes at spaces; a word
// longer than width gets a line of its own.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// listenValue is a host:port address; an optional one may be empty.
type listenValue struct {
	s        *string
	optional bool
}

func (v *listenValue) String() string {
	if *v.s == "" && v.optional {
		return "none"
	}
	return *v.s
}

func (v *listenValue) Set(s string) error {
	if s == "" && v.optional {
		*v.s = ""
		return nil
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("must be host:port, e.g. 127.0.0.1:4567 or :4567")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return fmt.Errorf("port %q must be a number from 0 to 65535", port)
	}
	*v.s = s
	return nil
}

// nonEmptyValue is a string that must not be empty.
type nonEmptyValue struct{ s *string }

func (v *nonEmptyValue) String() string { return *v.s }

func (v *nonEmptyValue) Set(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	*v.s = s
	return nil
}

// nameValue is a cluster's or a node's name: letters, digits, '-' and
// '_', which the embedded server takes in its subjects and file names;
// empty is unset.
type nameValue struct{ s *string }

func (v *nameValue) String() string {
	if *v.s == "" {
		return "none"
	}
	return *v.s
}

func (v *nameValue) Set(s string) error {
	if strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return errors.New("must hold only letters, digits, '-' and '_'")
	}
	*v.s = s
	return nil
}

// peersValue is a comma-separated list of host:port addresses.
type peersValue struct{ s *string }

func (v *peersValue) String() string {
	if *v.s == "" {
		return "none"
	}
	return *v.s
}

func (v *peersValue) Set(s string) error {
	peers := peerList(s)
	for _, p := range peers {
		if _, port, err := net.SplitHostPort(p); err != nil || port == "" || port == "0" {
			return fmt.Errorf("%q must be host:port with a port, e.g. 10.0.0.2:6222", p)
		}
	}
	*v.s = strings.Join(peers, ",")
	return nil
}

// accountValue is an AWS account id: exactly 12 digits.
type accountValue struct{ s *string }

func (v *accountValue) String() string { return *v.s }

func (v *accountValue) Set(s string) error {
	if len(s) != 12 || strings.Trim(s, "0123456789") != "" {
		return errors.New("must be 12 digits, like an AWS account id")
	}
	*v.s = s
	return nil
}

// durationValue is a non-negative duration, or a positive one.
type durationValue struct {
	d        *time.Duration
	positive bool
}

func (v *durationValue) String() string { return v.d.String() }

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("must be a duration such as 500ms, 2s or 1m")
	}
	switch {
	case d < 0:
		return errors.New("must not be negative")
	case d == 0 && v.positive:
		return errors.New("must be positive")
	}
	*v.d = d
	return nil
}

// countValue is a whole number, 0 or more.
type countValue struct{ n *int }

func (v *countValue) String() string { return strconv.Itoa(*v.n) }

func (v *countValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return errors.New("must be a whole number, 0 or more")
	}
	*v.n = n
	return nil
}

// fractionValue is a number greater than 0 and at most 1.
type fractionValue struct{ f *float64 }

func (v *fractionValue) String() string { return strconv.FormatFloat(*v.f, 'g', -1, 64) }

func (v *fractionValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0 && f <= 1) {
		return errors.New("must be a number greater than 0 and at most 1, such as 0.8")
	}
	*v.f = f
	return nil
}

// levelValue is a log level, by its lowercase name.
type levelValue struct{ l *slog.Level }

func (v *levelValue) String() string { return strings.ToLower(v.l.String()) }

func (v *levelValue) Set(s string) error {
	levels := map[string]slog.Level{
		"debug": slog.LevelDebug,
		"info":  slog.LevelInfo,
		"warn":  slog.LevelWarn,
		"error": slog.LevelError,
	}
	l, ok := levels[strings.ToLower(s)]
	if !ok {
		return errors.New("must be one of debug, info, warn, error")
	}
	*v.l = l
	return nil
}

// choiceValue is one of a fixed set of strings.
type choiceValue struct {
	s       *string
	choices []string
}

func (v *choiceValue) String() string { return *v.s }

func (v *choiceValue) Set(s string) error {
	for _, c := range v.choices {
		if s == c {
			*v.s = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(v.choices, ", "))
}

// sizeValue is a byte count of at least min, written in bytes or with a
// binary unit: 268435456, 256MiB, 1GiB.
type sizeValue struct {
	n   *int64
	min int64
}

// sizeUnit is a unit of sizeValue.
type sizeUnit struct {
	suffix string
	bytes  int64
}

// sizeUnits are the units of sizeValue, largest first.
func sizeUnits() []sizeUnit {
	return []sizeUnit{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
}

// String writes the size in the largest unit that divides it.
func (v *sizeValue) String() string {
	for _, u := range sizeUnits() {
		if *v.n != 0 && *v.n%u.bytes == 0 {
			return strconv.FormatInt(*v.n/u.bytes, 10) + u.suffix
		}
	}
	return strconv.FormatInt(*v.n, 10)
}

func (v *sizeValue) Set(s string) error {
	num, unit := s, int64(1)
	for _, u := range sizeUnits() {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, unit = rest, u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/unit {
		return errors.New("must be a size in bytes, or with a unit: KiB, MiB or GiB, such as 256MiB")
	}
	if n*unit < v.min {
		return fmt.Errorf("must be at least %s", (&sizeValue{n: &v.min}).String())
	}
	*v.n = n * unit
	return nil
}

// originsValue is a comma-separated list of web origins
// (scheme://host[:port]) or "*".
type originsValue struct{ o *string }

func (v *originsValue) String() string {
	if *v.o == "" {
		return "none"
	}
	return *v.o
}

// corsOrigins splits a --cors-origins value.
func corsOrigins(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (v *originsValue) Set(s string) error {
	var origins []string
	for o := range strings.SplitSeq(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" || o == "none" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
				return fmt.Errorf("%q is not an origin: want scheme://host[:port] such as https://console.example.com, or *", o)
			}
		}
		origins = append(origins, o)
	}
	*v.o = strings.Join(origins, ",")
	return nil
}

// tokenValue is a secret token of at least 16 characters, or empty.
type tokenValue struct{ s *string }

func (v *tokenValue) String() string {
	if *v.s == "" {
		return "none"
	}
	return *v.s
}

func (v *tokenValue) Set(s string) error {
	if s != "" && len(s) < 16 {
		return errors.New("must be at least 16 characters")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return errors.New("must not contain spaces or control characters")
	}
	*v.s = s
	return nil
}

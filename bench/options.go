// Package bench drives a Kinesis Data Streams endpoint with the AWS SDK for
// Go v2 and measures it: ingest throughput, drain throughput, end-to-end
// latency and behaviour with many shards. It works against Tributary, AWS
// or any other compatible server.
package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Workload names, in the order "all" runs them.
const (
	WorkloadIngest  = "ingest"
	WorkloadDrain   = "drain"
	WorkloadLatency = "latency"
	WorkloadShards  = "shards"
	WorkloadAll     = "all"
	// WorkloadSoak runs for --duration and is not part of "all".
	WorkloadSoak = "soak"
	// WorkloadProducer is ingest through the producer library (package
	// producer), to compare with ingest; not part of "all".
	WorkloadProducer = "producer"
	// WorkloadConsume is drain through the consumer library (package
	// consumer): 8 shards, 2 workers; not part of "all".
	WorkloadConsume = "consume"
	// WorkloadScale is many shards on one server (--scale-shards, 10,000
	// by default): create, write to all, read all back, idle CPU; not part
	// of "all", which it would dwarf.
	WorkloadScale = "scale"
	// WorkloadClusterFaults starts a cluster of its own, of this binary,
	// and runs it through a random schedule of faults for --duration
	// (clusterfaults.go); it takes no endpoint and runs alone.
	WorkloadClusterFaults = "cluster-faults"
)

// Workloads lists the workloads "all" runs, in order.
var Workloads = []string{WorkloadIngest, WorkloadDrain, WorkloadLatency, WorkloadShards}

// Options configures a benchmark run.
type Options struct {
	Endpoint string // base URL of the Kinesis endpoint
	Region   string
	// Workload is one of Workloads, WorkloadAll, WorkloadSoak or
	// WorkloadProducer, or several separated by commas, run in that order.
	Workload string
	JSONPath string // where to write the JSON result; "-" is stdout, "" none
	PID      int    // server process whose RSS is reported; 0 for none
	// HTTP2 makes the client speak HTTP/2 to an http:// endpoint, with
	// prior knowledge (h2c), as the SDK speaks it to AWS over TLS; AWS
	// serves SubscribeToShard over HTTP/2 only. Without it, an http://
	// endpoint is spoken to in HTTP/1.1 (event streams chunked).
	HTTP2 bool
	// AdminToken is the bearer token of Tributary's admin API (serve
	// --admin-token), which the soak reads the server's stats with.
	AdminToken string
	// CPUProfile, when set, is where a CPU profile of the whole run (the
	// bench process: its load, the SDK, and the producer library of the
	// producer workload) is written.
	CPUProfile string

	Producers      int           // concurrent producers of ingest
	Shards         int           // shards of the ingest stream
	RecordSizes    []int         // record sizes of ingest, one run each
	IngestDuration time.Duration // length of each ingest run

	// ProducerRateLimit is the producer workload's Config.RateLimit: each
	// shard's write rate as a fraction of AWS's limits. Against a server
	// with its limits off, a high value keeps the producer's own limiter
	// out of the measure.
	ProducerRateLimit float64
	// ConsumeReadInterval is the consume workload's Config.ReadInterval;
	// 0 does not wait between reads.
	ConsumeReadInterval time.Duration

	DrainRecords int // records written, then read back, by drain

	LatencySamples int // records timed by latency, for each read path
	LatencyRate    int // records/s the latency writer offers
	// PollInterval is the pause of the latency poller after a GetRecords
	// that returned nothing.
	PollInterval time.Duration

	ManyShards         int           // shards of the shards workload's stream
	ManyShardsDuration time.Duration // length of the shards workload

	// The scale workload (scale.go).
	ScaleShards     int           // shards in all, over streams of at most 10,000
	ScaleRecords    int           // records written to, and read from, each shard
	ScaleRecordSize int           // bytes of data of each of those records
	ScaleSettle     time.Duration // wait before the idle CPU is measured
	ScaleIdle       time.Duration // how long the server's idle CPU is measured
	ScaleKeep       bool          // leave the streams, to measure a restart with them

	StreamPrefix  string        // prefix of every stream the benchmark creates
	CreateTimeout time.Duration // how long a new stream may take to become ACTIVE
	// EncryptKey, when set, is the KeyId every stream the benchmark
	// creates is encrypted under (StartStreamEncryption) before use, to
	// measure the cost of encryption at rest.
	EncryptKey string

	// The soak (soak.go).
	Duration time.Duration // how long the soak's life lasts
	SoakRate int           // records/s of the soak's steady writers, all together
	// SoakRetentionHour is how long an hour of retention lasts on the
	// server (tributary serve --retention-hour): the soak counts a
	// record that was not read back as expired, not lost, once it is
	// older than 24 of them.
	SoakRetentionHour time.Duration
	// SoakReaderPause is how long the pausing readers pause: longer than
	// the server's iterator lifetime, so that their iterators expire.
	SoakReaderPause time.Duration
	// SoakRestart, when not nil, kills and restarts the server during
	// the soak (tests only).
	SoakRestart *SoakRestart

	// The cluster under faults (clusterfaults.go), which also runs for
	// Duration.
	ClusterNodes int // nodes of the cluster, 3 to 9
	// ClusterPlacements is the nodes' --placements, 1 to 64.
	ClusterPlacements int
	// ClusterSeed draws the schedule; 0 draws a seed, which is printed.
	ClusterSeed uint64
	// ClusterFaults are the kinds of faults to draw from
	// (clusterfaults.Kind's names).
	ClusterFaults []string
}

// SoakRestart is a test's hook to kill the server during the soak and
// start it again on the same data and address.
type SoakRestart struct {
	// After is when, into the soak's life, Restart is called.
	After time.Duration
	// Restart kills the server (kill -9), starts it again and returns
	// once it listens, with the new process's pid (0 if unknown).
	// Records whose writes were in flight are counted as maybe stored.
	Restart func(ctx context.Context) (pid int, err error)
}

// DefaultOptions returns the options without flags; Endpoint is empty and
// must be set.
func DefaultOptions() Options {
	return Options{
		Region:              "us-east-1",
		Workload:            WorkloadAll,
		Producers:           4,
		Shards:              4,
		RecordSizes:         []int{100, 1024},
		IngestDuration:      10 * time.Second,
		ProducerRateLimit:   1.5,                    // the producer's and the KPL's default
		ConsumeReadInterval: 200 * time.Millisecond, // the consumer's default
		DrainRecords:        1_000_000,
		LatencySamples:      10_000,
		LatencyRate:         1000,
		// A millisecond: see --poll-interval's help and docs/benchmarks.md
		// ("Latency: put to GetRecords and put to SubscribeToShard").
		PollInterval:       time.Millisecond,
		ManyShards:         256,
		ManyShardsDuration: 10 * time.Second,
		ScaleShards:        10000,
		ScaleRecords:       10,
		ScaleRecordSize:    1024,
		// Past a checkpoint of the server's (every 10 s by default), which
		// syncs what the writes left: that is the writes' cost, not idling.
		ScaleSettle:       15 * time.Second,
		ScaleIdle:         30 * time.Second,
		StreamPrefix:      "bench-",
		CreateTimeout:     60 * time.Second,
		Duration:          5 * time.Minute,
		ClusterNodes:      3,
		ClusterPlacements: 4,
		ClusterFaults:     []string{"kill", "pause", "partition", "restart"},
		SoakRate:          300,
		SoakRetentionHour: time.Hour,
		// Past AWS's 5-minute iterator lifetime.
		SoakReaderPause: 5*time.Minute + 10*time.Second,
	}
}

// maxRecordSize is the largest record data Kinesis accepts by default.
const maxRecordSize = 1 << 20

// Validate reports the first option that cannot work.
func (o Options) Validate() error {
	clusterFaults := strings.Contains(","+o.Workload+",", ","+WorkloadClusterFaults+",")
	switch {
	case clusterFaults && o.Workload != WorkloadClusterFaults:
		return fmt.Errorf("the %s workload runs alone", WorkloadClusterFaults)
	case clusterFaults && o.Endpoint != "":
		return fmt.Errorf("the %s workload starts its own cluster: it takes no --endpoint", WorkloadClusterFaults)
	case clusterFaults && (o.ClusterNodes < 3 || o.ClusterNodes > 9):
		return errors.New("--nodes must be from 3 to 9")
	case clusterFaults && (o.ClusterPlacements < 1 || o.ClusterPlacements > 64):
		return errors.New("--placements must be from 1 to 64")
	case clusterFaults && len(o.ClusterFaults) == 0:
		return errors.New("--faults must name at least one kind of fault")
	case o.Endpoint == "" && !clusterFaults:
		return errors.New("--endpoint is required")
	case o.Region == "":
		return errors.New("--region must not be empty")
	case o.Workload == "":
		return errors.New("--workload must name a workload")
	case o.PID < 0:
		return errors.New("--pid must not be negative")
	case o.Producers < 1:
		return errors.New("--producers must be at least 1")
	case o.Shards < 1:
		return errors.New("--shards must be at least 1")
	case len(o.RecordSizes) == 0:
		return errors.New("--record-sizes must list at least one size")
	case o.IngestDuration <= 0:
		return errors.New("--ingest-duration must be positive")
	case !(o.ProducerRateLimit > 0):
		return errors.New("--producer-rate-limit must be positive")
	case o.DrainRecords < 1:
		return errors.New("--drain-records must be at least 1")
	case o.LatencySamples < 1:
		return errors.New("--latency-samples must be at least 1")
	case o.LatencyRate < 1:
		return errors.New("--latency-rate must be at least 1")
	case o.PollInterval < 0:
		return errors.New("--poll-interval must not be negative")
	case o.ManyShards < 1:
		return errors.New("--many-shards must be at least 1")
	case o.ManyShardsDuration <= 0:
		return errors.New("--many-shards-duration must be positive")
	case o.ScaleShards < 1:
		return errors.New("--scale-shards must be at least 1")
	case o.ScaleRecords < 1:
		return errors.New("--scale-records must be at least 1")
	case o.ScaleRecordSize < 1 || o.ScaleRecordSize > maxRecordSize:
		return fmt.Errorf("--scale-record-size must be from 1 to %d bytes", maxRecordSize)
	case o.ScaleSettle < 0:
		return errors.New("--scale-settle must not be negative")
	case o.ScaleIdle <= 0:
		return errors.New("--scale-idle must be positive")
	case o.StreamPrefix == "":
		return errors.New("--stream-prefix must not be empty")
	case o.CreateTimeout <= 0:
		return errors.New("--create-timeout must be positive")
	case o.Duration <= 0:
		return errors.New("--duration must be positive")
	case o.SoakRate < 10:
		return errors.New("--soak-rate must be at least 10")
	case o.SoakRetentionHour <= 0:
		return errors.New("--soak-retention-hour must be positive")
	case o.SoakReaderPause <= 0:
		return errors.New("--soak-reader-pause must be positive")
	case o.SoakRestart != nil && (o.SoakRestart.Restart == nil || o.SoakRestart.After <= 0):
		return errors.New("SoakRestart needs a Restart function and a positive After")
	}
	for name := range strings.SplitSeq(o.Workload, ",") {
		if !IsWorkload(name) {
			return fmt.Errorf("unknown workload %q", name)
		}
	}
	for _, s := range o.RecordSizes {
		if s < 1 || s > maxRecordSize {
			return fmt.Errorf("record size %d must be from 1 to %d bytes", s, maxRecordSize)
		}
	}
	return nil
}

// IsWorkload reports whether name is a workload --workload may name
// (alone or in a list).
func IsWorkload(name string) bool {
	return name == WorkloadAll || name == WorkloadSoak || name == WorkloadClusterFaults || name == WorkloadProducer || name == WorkloadConsume || name == WorkloadScale || contains(Workloads, name)
}

// selected returns the workloads to run, in order.
func (o Options) selected() []string {
	var out []string
	for name := range strings.SplitSeq(o.Workload, ",") {
		if name == WorkloadAll {
			out = append(out, Workloads...)
		} else {
			out = append(out, name)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

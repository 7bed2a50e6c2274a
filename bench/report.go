package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tributary-io/tributary/internal/cli"
)

// Result is the outcome of a run, written with --json. Its field names are
// a contract with scripts that compare runs: add fields, never rename or
// remove them.
type Result struct {
	Endpoint  string           `json:"endpoint"`
	Started   time.Time        `json:"started"`
	GoVersion string           `json:"go_version"`
	Workloads []WorkloadResult `json:"workloads"`
}

// WorkloadResult is the outcome of one workload (of one record size, for
// ingest). Fields that do not apply to a workload are left out.
type WorkloadResult struct {
	Name string `json:"name"`
	// Path is, for the latency workload, the read path timed: GetRecords
	// or SubscribeToShard (one result each).
	Path       string `json:"path,omitempty"`
	RecordSize int    `json:"record_size,omitempty"` // bytes of data per record
	Producers  int    `json:"producers,omitempty"`
	Shards     int    `json:"shards,omitempty"`

	DurationS     float64 `json:"duration_s"` // of the timed part
	Records       int64   `json:"records"`    // written (ingest, shards), read (drain) or read once each (latency)
	Bytes         int64   `json:"bytes"`      // record data of Records
	Calls         int64   `json:"calls"`      // API calls of the timed part
	FailedRecords int64   `json:"failed_records"`
	RetriedCalls  int64   `json:"retried_calls"` // calls that took more than one attempt
	// ReadCalls is, for latency, the GetRecords calls of its poller or
	// the SubscribeToShard calls of its subscriber (one per subscription,
	// renewed when the server ends it).
	ReadCalls int64 `json:"read_calls,omitempty"`
	// DuplicateRecords is, for latency, the records read more than once
	// (a PutRecord the SDK retried after its answer was lost), timed once.
	DuplicateRecords int64 `json:"duplicate_records,omitempty"`
	// OfferedRate is, for latency, the records/s the writer offers
	// (--latency-rate); RecordsPerSec is what it reached, up to the
	// last record read.
	OfferedRate *float64 `json:"offered_rate,omitempty"`
	// PollIntervalMS is, for latency's GetRecords path, the pause of the
	// poller after a GetRecords that returned nothing (--poll-interval).
	PollIntervalMS *float64 `json:"poll_interval_ms,omitempty"`
	// KinesisRecords is, for the producer workload, the Kinesis records
	// stored: KPL aggregates count once, so Records/KinesisRecords is the
	// records per aggregate.
	KinesisRecords int64 `json:"kinesis_records,omitempty"`

	RecordsPerSec float64  `json:"records_per_sec"`
	MBPerSec      *float64 `json:"mb_per_sec,omitempty"` // 10^6 bytes of record data per second
	// LatencyMS is per PutRecords call for ingest and shards, and for
	// latency from just before a record's PutRecord call to its receipt
	// by the reader of Path.
	LatencyMS *Latency `json:"latency_ms,omitempty"`
	// PutLatencyMS is, for latency, the time the PutRecord calls took
	// that succeeded: a record can be read once it is durable, about when
	// its call is answered, so this is most of LatencyMS, and what
	// remains is the reader's.
	PutLatencyMS *Latency `json:"put_latency_ms,omitempty"`
	// ReadAfterAnswerMS is, for latency, the time from a PutRecord
	// call's answer to the reader's receipt of its record: what the read
	// path adds once the record is stored. Negative when the reader got
	// the record before the writer got the answer.
	ReadAfterAnswerMS *Latency `json:"read_after_answer_ms,omitempty"`

	RSSStartBytes MaybeBytes `json:"rss_start_bytes,omitzero"`
	RSSEndBytes   MaybeBytes `json:"rss_end_bytes,omitzero"`

	// Soak is the soak workload's checks and figures.
	Soak *SoakResult `json:"soak,omitempty"`
	// Scale is the scale workload's figures beyond the writes'.
	Scale *ScaleResult `json:"scale,omitempty"`

	// Error says why the workload failed; its figures are then those
	// measured up to the failure.
	Error string `json:"error,omitempty"`
}

// setRates fills in the duration and the rates from the counts.
func (w *WorkloadResult) setRates(elapsed time.Duration, withMB bool) {
	w.DurationS = elapsed.Seconds()
	if w.DurationS <= 0 {
		return
	}
	w.RecordsPerSec = float64(w.Records) / w.DurationS
	if withMB {
		mb := float64(w.Bytes) / 1e6 / w.DurationS
		w.MBPerSec = &mb
	}
}

// label names the workload in progress lines and the summary.
func (w *WorkloadResult) label() string {
	if w.Name == WorkloadIngest || w.Name == WorkloadProducer {
		return fmt.Sprintf("%s %s", w.Name, sizeLabel(w.RecordSize))
	}
	if w.Path != "" {
		return w.Name + " " + w.Path
	}
	return w.Name
}

// sizeLabel writes a record size as 100B or 1KiB.
func sizeLabel(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dKiB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}

// writeSummary writes the human-readable table of the results.
func writeSummary(w io.Writer, r Result) {
	fmt.Fprintf(w, "\nendpoint %s, started %s, %s\n\n", r.Endpoint, r.Started.Format(time.RFC3339), r.GoVersion)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tsize\tprod\tshards\tsecs\trecords\trec/s\tMB/s\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\tcalls\tfailed\tretried\tRSS start\tRSS end\t")
	for _, x := range r.Workloads {
		mb, p50, p99, p999, pmax := "-", "-", "-", "-", "-"
		if x.MBPerSec != nil {
			mb = fmt.Sprintf("%.1f", *x.MBPerSec)
		}
		if x.LatencyMS != nil {
			p50 = fmt.Sprintf("%.2f", x.LatencyMS.P50)
			p99 = fmt.Sprintf("%.2f", x.LatencyMS.P99)
			p999 = fmt.Sprintf("%.2f", x.LatencyMS.P999)
			pmax = fmt.Sprintf("%.2f", x.LatencyMS.Max)
		}
		name := x.Name
		if x.Path != "" {
			name += " " + x.Path
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			name, orDash(x.RecordSize, sizeLabel), orDash(x.Producers, strconv.Itoa), orDash(x.Shards, strconv.Itoa),
			x.DurationS, cli.Thousands(x.Records), cli.Thousands(int64(x.RecordsPerSec)), mb, p50, p99, p999, pmax,
			cli.Thousands(x.Calls), cli.Thousands(x.FailedRecords), cli.Thousands(x.RetriedCalls),
			x.RSSStartBytes, x.RSSEndBytes)
	}
	tw.Flush()
	for _, x := range r.Workloads {
		if x.Path != "" && x.OfferedRate != nil {
			fmt.Fprintf(w, "%s: latency from just before PutRecord to receipt, %s records/s offered", x.label(), cli.Thousands(int64(*x.OfferedRate)))
			if x.PollIntervalMS != nil {
				fmt.Fprintf(w, "; polled again at once after records, %gms after an empty answer", *x.PollIntervalMS)
			}
			fmt.Fprintf(w, "; %s read calls", cli.Thousands(x.ReadCalls))
			if p := x.PutLatencyMS; p != nil {
				fmt.Fprintf(w, "; PutRecord calls took p50 %.2f, p99 %.2f, p99.9 %.2f, max %.2f ms", p.P50, p.P99, p.P999, p.Max)
			}
			if p := x.ReadAfterAnswerMS; p != nil {
				fmt.Fprintf(w, "; read after the answer p50 %.2f, p99 %.2f, p99.9 %.2f, max %.2f ms", p.P50, p.P99, p.P999, p.Max)
			}
			fmt.Fprintln(w)
		}
	}
	for _, x := range r.Workloads {
		if x.Soak != nil {
			writeSoakSummary(w, x.Soak)
		}
		if x.Scale != nil {
			writeScaleSummary(w, x.Scale)
		}
	}
}

func orDash(n int, format func(int) string) string {
	if n == 0 {
		return "-"
	}
	return format(n)
}

// writeJSON writes r as indented JSON to path, or to stdout if path is "-".
func writeJSON(path string, stdout io.Writer, r Result) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
	}
	data = append(data, '\n')
	if path == "-" {
		if _, err := stdout.Write(data); err != nil {
			return fmt.Errorf("writing result: %w", err)
		}
		return nil
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing result: %w", err)
	}
	return nil
}

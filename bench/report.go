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
	Name       string `json:"name"`
	RecordSize int    `json:"record_size,omitempty"` // bytes of data per record
	Producers  int    `json:"producers,omitempty"`
	Shards     int    `json:"shards,omitempty"`

	DurationS     float64 `json:"duration_s"` // of the timed part
	Records       int64   `json:"records"`    // written (ingest, shards, latency) or read (drain)
	Bytes         int64   `json:"bytes"`      // record data of Records
	Calls         int64   `json:"calls"`      // API calls of the timed part
	FailedRecords int64   `json:"failed_records"`
	RetriedCalls  int64   `json:"retried_calls"` // calls that took more than one attempt
	// KinesisRecords is, for the producer workload, the Kinesis records
	// stored: KPL aggregates count once, so Records/KinesisRecords is the
	// records per aggregate.
	KinesisRecords int64 `json:"kinesis_records,omitempty"`

	RecordsPerSec float64  `json:"records_per_sec"`
	MBPerSec      *float64 `json:"mb_per_sec,omitempty"` // 10^6 bytes of record data per second
	// LatencyMS is per PutRecords call for ingest and shards, and from
	// send to receipt of a record for latency.
	LatencyMS *Latency `json:"latency_ms,omitempty"`

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
	fmt.Fprintln(tw, "workload\tsize\tprod\tshards\tsecs\trecords\trec/s\tMB/s\tp50 ms\tp99 ms\tmax ms\tcalls\tfailed\tretried\tRSS start\tRSS end\t")
	for _, x := range r.Workloads {
		mb, p50, p99, pmax := "-", "-", "-", "-"
		if x.MBPerSec != nil {
			mb = fmt.Sprintf("%.1f", *x.MBPerSec)
		}
		if x.LatencyMS != nil {
			p50 = fmt.Sprintf("%.2f", x.LatencyMS.P50)
			p99 = fmt.Sprintf("%.2f", x.LatencyMS.P99)
			pmax = fmt.Sprintf("%.2f", x.LatencyMS.Max)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			x.Name, orDash(x.RecordSize, sizeLabel), orDash(x.Producers, strconv.Itoa), orDash(x.Shards, strconv.Itoa),
			x.DurationS, cli.Thousands(x.Records), cli.Thousands(int64(x.RecordsPerSec)), mb, p50, p99, pmax,
			cli.Thousands(x.Calls), cli.Thousands(x.FailedRecords), cli.Thousands(x.RetriedCalls),
			x.RSSStartBytes, x.RSSEndBytes)
	}
	tw.Flush()
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

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tributary-io/tributary/server"
	jsengine "github.com/tributary-io/tributary/storage/jetstream"
)

// clusterOptions are the flags of "tributary cluster status".
type clusterOptions struct {
	Endpoint string
	JSON     bool
	Timeout  time.Duration
}

func clusterOptionList() []cmdOption[clusterOptions] {
	return []cmdOption[clusterOptions]{
		endpointOption(func(o *clusterOptions) *string { return &o.Endpoint }),
		{
			flag:  "json",
			usage: "Print the node's answer as it is, in JSON, rather than as tables.",
			value: func(o *clusterOptions) flag.Value { return &boolValue{&o.JSON} },
		},
		{
			flag: "timeout", arg: "duration",
			usage: "How long to wait for the answer.",
			value: func(o *clusterOptions) flag.Value { return &durationValue{d: &o.Timeout, positive: true} },
		},
	}
}

func clusterUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: tributary cluster status [--endpoint url] [--json] [--timeout duration]

Asks a node of a cluster (tributary serve --cluster) how it sees the
cluster (GET ` + server.ClusterStatusPath + `, read-only, no signature) and prints: the
metadata leader; the other nodes, whether each is current (seen recently
and caught up) or offline; and each replicated stream (the placements of
the shards' logs, TRIBUTARY_LOGS_*, and the catalogue's buckets, KV_*)
with its leader and its other replicas, each with how many operations it
lags behind the leader.

Adding and draining nodes (cluster add, cluster drain) are not there yet.

Exit status: 0 if the node answered, 1 if not, 2 for wrong usage.

Flags:
`)
	writeCmdFlags(&b, clusterOptionList(), clusterOptions{Endpoint: defaultEndpoint, Timeout: 15 * time.Second})
	return b.String()
}

// clusterMain runs "tributary cluster".
func clusterMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usageErr := func(err error) int {
		fmt.Fprintf(stderr, "tributary cluster: %v\n\nRun 'tributary cluster --help' for the flags.\n", err)
		return 2
	}
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-help" || args[0] == "-h" || args[0] == "help") {
		fmt.Fprint(stdout, clusterUsage())
		return 0
	}
	if len(args) == 0 {
		return usageErr(errors.New("which one: tributary cluster status"))
	}
	switch args[0] {
	case "status":
	case "add", "drain":
		return usageErr(fmt.Errorf("%s is not there yet; only status is", args[0]))
	default:
		return usageErr(fmt.Errorf("unknown subcommand %q; only status is", args[0]))
	}
	opts := clusterOptions{Endpoint: defaultEndpoint, Timeout: 15 * time.Second}
	fs, err := parseCmdFlags("tributary cluster status", clusterOptionList(), &opts, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, clusterUsage())
		return 0
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		return usageErr(err)
	}
	url := strings.TrimSuffix(opts.Endpoint, "/") + server.ClusterStatusPath
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usageErr(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "tributary cluster status: %s: no answer: %v\n", url, err)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		fmt.Fprintf(stderr, "tributary cluster status: %s: %v\n", url, err)
		return 1
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "tributary cluster status: %s: %d %s\n", url, resp.StatusCode, strings.TrimSpace(string(body)))
		return 1
	}
	if opts.JSON {
		stdout.Write(body)
		return 0
	}
	var st jsengine.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintf(stderr, "tributary cluster status: %s: %v\n", url, err)
		return 1
	}
	writeClusterStatus(stdout, st)
	return 0
}

// writeClusterStatus prints st as two tables.
func writeClusterStatus(w io.Writer, st jsengine.Status) {
	leader := st.MetaLeader
	if leader == "" {
		leader = "none (fewer than a majority of the nodes reachable?)"
	}
	fmt.Fprintf(w, "cluster %s, as node %s sees it; metadata leader: %s\n\n", st.Cluster, st.Node, leader)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tLAST SEEN")
	fmt.Fprintf(tw, "%s\tthis node\t-\n", st.Node)
	for _, p := range st.Peers {
		fmt.Fprintf(tw, "%s\t%s\t%v ago\n", p.Name, peerState(p), p.SeenAgo.Round(time.Millisecond))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tLEADER\tMESSAGES\tREPLICAS (lag in operations)")
	for _, s := range st.Streams {
		if s.Error != "" {
			fmt.Fprintf(tw, "%s\t?\t?\t%s\n", s.Name, s.Error)
			continue
		}
		var reps []string
		for _, p := range s.Replicas {
			reps = append(reps, fmt.Sprintf("%s %s lag %d", p.Name, peerState(p), p.Lag))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", s.Name, s.Leader, s.Messages, strings.Join(reps, ", "))
	}
	tw.Flush()
}

func peerState(p jsengine.Peer) string {
	switch {
	case p.Offline:
		return "offline"
	case p.Current:
		return "current"
	}
	return "behind"
}

package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	dto "github.com/prometheus/client_model/go"
)

// dashboardFile is the Grafana dashboard shipped in deploy/.
const dashboardFile = "../../deploy/grafana/tributary.json"

// grafanaDashboard is the part of Grafana's dashboard JSON the test reads.
type grafanaDashboard struct {
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ X, Y, W, H int } `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

var (
	// A metric name in PromQL: the families Tributary serves all start
	// with one of these prefixes.
	promMetric = regexp.MustCompile(`\b(?:kinesis|tributary|go|process)_[a-z0-9_]+\b`)
	// A selector's label matchers, and a grouping clause's labels.
	promSelector = regexp.MustCompile(`\b([a-z_:][a-z0-9_:]*)\{([^}]*)\}`)
	promMatcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	promBy       = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
	// label_values(metric{...}, label) in a template variable.
	promLabelValues = regexp.MustCompile(`label_values\(\s*([a-z_:][a-z0-9_:]*)(?:\{[^}]*\})?\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)`)
)

// TestGrafanaDashboard checks deploy/grafana/tributary.json against a
// real server's /metrics: every metric a panel or a variable queries is
// served, with every label the query filters or groups by. The server is
// first made to produce every family the dashboard shows (a stream with
// enhanced monitoring, puts, reads, a live SubscribeToShard session),
// since labelled series only appear once their event has happened.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}

	// Its shape: what Grafana needs to import it without questions.
	if d.UID == "" {
		t.Error("the dashboard has no uid")
	}
	ids := map[int]bool{}
	var queries []string
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside Grafana's 24 columns", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %q, want the dashboard's variable", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			queries = append(queries, tg.Expr)
		}
	}
	if len(queries) < 20 {
		t.Fatalf("%d queries in the dashboard; the test reads it wrong", len(queries))
	}

	families := scrapeEverything(t)
	labelsOf := func(name string) map[string]bool {
		out := map[string]bool{}
		for _, m := range families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				out[l.GetName()] = true
			}
		}
		return out
	}
	// family is the family a name in a query belongs to: a histogram's
	// _bucket, _sum and _count series are served under its name.
	family := func(name string) (string, bool) {
		if families[name] != nil {
			return name, true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base, ok := strings.CutSuffix(name, suffix)
			if ok && families[base].GetType() == dto.MetricType_HISTOGRAM {
				return base, true
			}
		}
		return "", false
	}

	for _, q := range queries {
		var used []string
		for _, name := range promMetric.FindAllString(q, -1) {
			f, ok := family(name)
			if !ok {
				t.Errorf("query %q: /metrics has no %s", q, name)
				continue
			}
			used = append(used, f)
		}
		for _, sel := range promSelector.FindAllStringSubmatch(q, -1) {
			f, ok := family(sel[1])
			if !ok {
				continue // reported above
			}
			have := labelsOf(f)
			for _, m := range promMatcher.FindAllStringSubmatch(sel[2], -1) {
				if !have[m[1]] {
					t.Errorf("query %q: %s has no label %q", q, f, m[1])
				}
			}
		}
		for _, by := range promBy.FindAllStringSubmatch(q, -1) {
			for l := range strings.SplitSeq(by[1], ",") {
				l = strings.TrimSpace(l)
				if l == "le" || l == "" {
					continue
				}
				if !slices.ContainsFunc(used, func(f string) bool { return labelsOf(f)[l] }) {
					t.Errorf("query %q: groups by %q, which none of %v has", q, l, used)
				}
			}
		}
	}
	variables := 0
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		variables++
		m := promLabelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(metric, label)", v.Name, v.Definition)
			continue
		}
		if !labelsOf(m[1])[m[2]] {
			t.Errorf("variable %s: %s has no label %q", v.Name, m[1], m[2])
		}
	}
	if variables == 0 {
		t.Error("no query variables; the test reads the templating wrong")
	}
}

// scrapeEverything runs a server, does on it what makes every metric
// family appear, and scrapes /metrics while a SubscribeToShard session is
// still live (the consumer lag exists only then).
func scrapeEverything(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr, _, _ := runTestServer(t, nil, nil)
	c := testClient(addr)

	arn := aws.String("arn:aws:kinesis:us-east-1:" + testAccount + ":stream/dash")
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("dash"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnableEnhancedMonitoring(ctx, &sdk.EnableEnhancedMonitoringInput{StreamARN: arn, ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamARN: arn, PartitionKey: aws.String("k"), Data: []byte("one")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamARN: arn, Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("k"), Data: []byte("two")}, {PartitionKey: aws.String("k"), Data: []byte("three")},
	}}); err != nil {
		t.Fatal(err)
	}
	it, err := c.GetShardIterator(ctx, &sdk.GetShardIteratorInput{StreamARN: arn, ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: it.ShardIterator}); err != nil || len(out.Records) != 3 {
		t.Fatalf("GetRecords: %d records, %v", len(out.Records), err)
	}
	if _, err := c.DescribeStream(ctx, &sdk.DescribeStreamInput{StreamName: aws.String("nope")}); err == nil {
		t.Fatal("DescribeStream of a missing stream succeeded")
	}
	consumer, err := c.RegisterStreamConsumer(ctx, &sdk.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.SubscribeToShard(ctx, &sdk.SubscribeToShardInput{ConsumerARN: consumer.Consumer.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}})
	if err != nil {
		t.Fatal(err)
	}
	es := sub.GetStream()
	defer es.Close()
	if ev, ok := <-es.Events(); !ok {
		t.Fatalf("no event: %v", es.Err())
	} else if e, isEvent := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); !isEvent || len(e.Value.Records) != 3 {
		t.Fatalf("first event %#v, want the 3 records", ev)
	}
	return scrape(t, "http://"+addr+"/metrics")
}

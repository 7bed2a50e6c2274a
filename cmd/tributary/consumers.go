package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// consumersOptions are the flags of the consumers subcommands.
type consumersOptions struct {
	clientOptions
	Wait bool
}

// consumerJSON is a stream consumer as the consumers commands write it in
// JSON.
type consumerJSON struct {
	Name    string     `json:"name"`
	ARN     string     `json:"arn"`
	Status  string     `json:"status"`
	Created *time.Time `json:"created"`
}

func consumersCommands() *commandFamily {
	client := func(o *consumersOptions) *clientOptions { return &o.clientOptions }
	flags := func(wait bool) []cmdOption[consumersOptions] {
		var list []cmdOption[consumersOptions]
		if wait {
			list = append(list, cmdOption[consumersOptions]{
				flag:  "wait",
				usage: "Wait until the consumer is ACTIVE, with a progress line on a terminal.",
				value: func(o *consumersOptions) flag.Value { return &boolValue{&o.Wait} },
			})
		}
		return append(list, clientOptionList(client)...)
	}
	cmd := func(name, synopsis, doc string, wait bool, args []string,
		run func(context.Context, *awsClient, *consumersOptions, []string, cmdIO) error) func(context.Context, []string, cmdIO) int {
		cc := &clientCommand[consumersOptions]{
			name: "consumers " + name, family: "consumers", synopsis: synopsis, doc: doc, options: flags(wait),
			defaults: func() consumersOptions { return consumersOptions{} }, client: client,
			check: func(_ *consumersOptions, pos []string) error { return wantArgs(pos, args...) },
			run:   run,
		}
		return cc.main
	}
	return &commandFamily{
		name: "consumers",
		doc: `Usage: tributary consumers <subcommand> STREAM [NAME] [flags]

Manages the stream consumers (enhanced fan-out) of a stream.

Subcommands:
  list STREAM                  List the stream's consumers: name, status,
                               creation time, ARN
  register STREAM NAME         Register a consumer (--wait: until ACTIVE)
  deregister STREAM NAME       Deregister a consumer

STREAM is a name or an ARN. Run 'tributary consumers <subcommand> --help'
for its flags; every subcommand takes --output table|json, --endpoint and
--region.

Exit status: 0 on success, 1 if the call failed (the AWS error's code and
message on standard error), 2 for wrong usage.
`,
		subs: map[string]func(context.Context, []string, cmdIO) int{
			"list": cmd("list", "consumers list STREAM [--output table|json]",
				`Lists the stream consumers registered on a stream, every page of
ListStreamConsumers. With --output json, an array of objects with the
fields name, arn, status (CREATING, ACTIVE or DELETING) and created
(RFC 3339).
`, false, []string{"stream"}, consumersList),
			"register": cmd("register", "consumers register STREAM NAME [--wait]",
				`Registers a stream consumer, for enhanced fan-out (SubscribeToShard).
With --wait, waits until it is ACTIVE. Prints it: a line, or with
--output json its object (the fields of consumers list).
`, true, []string{"stream", "consumer name"}, consumersRegister),
			"deregister": cmd("deregister", "consumers deregister STREAM NAME",
				`Deregisters a stream consumer. Prints a line, or with --output json an
object with the fields name and status (DELETING).
`, false, []string{"stream", "consumer name"}, consumersDeregister),
		},
	}
}

// resolveStreamARN returns the ARN of stream, a name or an ARN.
func resolveStreamARN(ctx context.Context, c *kinesis.Client, stream string) (string, error) {
	d, err := streamSummary(ctx, c, stream)
	if err != nil {
		return "", err
	}
	return aws.ToString(d.StreamARN), nil
}

func consumerOf(c *types.Consumer) consumerJSON {
	j := consumerJSON{Name: aws.ToString(c.ConsumerName), ARN: aws.ToString(c.ConsumerARN), Status: string(c.ConsumerStatus)}
	if c.ConsumerCreationTimestamp != nil {
		t := c.ConsumerCreationTimestamp.UTC()
		j.Created = &t
	}
	return j
}

func consumersList(ctx context.Context, c *awsClient, o *consumersOptions, pos []string, cio cmdIO) error {
	arn, err := resolveStreamARN(ctx, c.Kinesis, pos[0])
	if err != nil {
		return err
	}
	list := []consumerJSON{}
	in := &kinesis.ListStreamConsumersInput{StreamARN: aws.String(arn)}
	for {
		out, err := c.Kinesis.ListStreamConsumers(ctx, in)
		if err != nil {
			return err
		}
		for i := range out.Consumers {
			list = append(list, consumerOf(&out.Consumers[i]))
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListStreamConsumersInput{StreamARN: aws.String(arn), NextToken: out.NextToken}
	}
	if o.Output == outputJSON {
		return writeJSON(cio.stdout, list)
	}
	tw := newTable(cio.stdout)
	fmt.Fprintln(tw, "NAME\tSTATUS\tCREATED\tARN")
	for _, x := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.Name, x.Status, timeText(x.Created), x.ARN)
	}
	return tw.Flush()
}

func consumersRegister(ctx context.Context, c *awsClient, o *consumersOptions, pos []string, cio cmdIO) error {
	arn, err := resolveStreamARN(ctx, c.Kinesis, pos[0])
	if err != nil {
		return err
	}
	out, err := c.Kinesis.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(arn), ConsumerName: aws.String(pos[1])})
	if err != nil {
		return err
	}
	if out.Consumer == nil {
		return errors.New("RegisterStreamConsumer answered no consumer")
	}
	j := consumerOf(out.Consumer)
	if o.Wait {
		err := waitFor(ctx, cio.stderr, func(ctx context.Context) (bool, string, error) {
			d, err := c.Kinesis.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(j.ARN)})
			if err != nil {
				return false, "", err
			}
			cd := d.ConsumerDescription
			j.Status = string(cd.ConsumerStatus)
			return cd.ConsumerStatus == types.ConsumerStatusActive, fmt.Sprintf("consumer %s is %s", j.Name, j.Status), nil
		})
		if err != nil {
			return err
		}
	}
	if o.Output == outputJSON {
		return writeJSON(cio.stdout, j)
	}
	_, err = fmt.Fprintf(cio.stdout, "registered consumer %s: %s, %s\n", j.Name, j.Status, j.ARN)
	return err
}

func consumersDeregister(ctx context.Context, c *awsClient, o *consumersOptions, pos []string, cio cmdIO) error {
	arn, err := resolveStreamARN(ctx, c.Kinesis, pos[0])
	if err != nil {
		return err
	}
	if _, err := c.Kinesis.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{StreamARN: aws.String(arn), ConsumerName: aws.String(pos[1])}); err != nil {
		return err
	}
	if o.Output == outputJSON {
		return writeJSON(cio.stdout, map[string]string{"name": pos[1], "status": string(types.ConsumerStatusDeleting)})
	}
	_, err = fmt.Fprintf(cio.stdout, "deregistered consumer %s: %s\n", pos[1], types.ConsumerStatusDeleting)
	return err
}

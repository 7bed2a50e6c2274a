package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// cmdOption is one flag of a client command (put, tail) and its
// documentation, as benchOption is bench's; O is the command's options.
type cmdOption[O any] struct {
	flag  string
	arg   string // placeholder for the value in the help text; none for a boolean flag
	usage string
	value func(o *O) flag.Value // binds the flag to a field of o
	def   string                // default shown in the help, if not the value's
}

// parseCmdFlags parses args into opts, which holds the defaults. It
// returns the flag set, for the arguments left, and flag.ErrHelp if args
// ask for help.
func parseCmdFlags[O any](name string, list []cmdOption[O], opts *O, args []string) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, o := range list {
		fs.Var(o.value(opts), o.flag, o.usage)
	}
	return fs, fs.Parse(args)
}

// writeCmdFlags writes the help text of the flags of list, each with its
// default from def.
func writeCmdFlags[O any](b *strings.Builder, list []cmdOption[O], def O) {
	for _, o := range list {
		if o.arg == "" { // a boolean flag
			fmt.Fprintf(b, "  --%s\n", o.flag)
		} else {
			fmt.Fprintf(b, "  --%s %s\n", o.flag, o.arg)
		}
		for _, line := range wrap(o.usage, 72) {
			fmt.Fprintf(b, "        %s\n", line)
		}
		d := o.def
		if d == "" {
			d = o.value(&def).String()
		}
		for _, line := range wrap("Default: "+d+".", 72) {
			fmt.Fprintf(b, "        %s\n", line)
		}
	}
}

// streamOption is the required --stream flag of a client command, bound
// to the field that field returns; usage says what the command does with
// the stream.
func streamOption[O any](field func(*O) *string, usage string) cmdOption[O] {
	return cmdOption[O]{
		flag: "stream", arg: "name",
		usage: usage,
		value: func(o *O) flag.Value { return &nonEmptyValue{field(o)} },
		def:   "none",
	}
}

// fromOption is the --from flag of a command that reads a stream from
// a position: trim-horizon, latest or at-timestamp (with
// timestampOption).
func fromOption[O any](field func(*O) *string, usage string) cmdOption[O] {
	return cmdOption[O]{
		flag: "from", arg: "position",
		usage: usage,
		value: func(o *O) flag.Value {
			return &choiceValue{field(o), []string{tailFromTrimHorizon, tailFromLatest, tailFromAtTimestamp}}
		},
	}
}

// timestampOption is the --timestamp flag that goes with --from
// at-timestamp.
func timestampOption[O any](field func(*O) *time.Time, usage string) cmdOption[O] {
	return cmdOption[O]{
		flag: "timestamp", arg: "time",
		usage: usage,
		value: func(o *O) flag.Value { return &timestampValue{field(o)} },
		def:   "none",
	}
}

// endpointOption is the --endpoint flag of a command that asks a
// Tributary server over HTTP (health), bound to the field that field
// returns.
func endpointOption[O any](field func(*O) *string) cmdOption[O] {
	return cmdOption[O]{
		flag: "endpoint", arg: "url",
		usage: "Base URL of the Tributary server.",
		value: func(o *O) flag.Value { return &urlValue{field(o)} },
	}
}

// clientEndpointOption is the --endpoint flag of a Kinesis client
// command (put, tail, streams...), resolved by newKinesisClient.
func clientEndpointOption[O any](field func(*O) *string) cmdOption[O] {
	return cmdOption[O]{
		flag: "endpoint", arg: "url",
		usage: "Base URL of the Kinesis endpoint: Tributary, another Kinesis emulator, or \"aws\" for AWS's endpoint of the region. Requests are signed with the credentials of the AWS chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws, SSO...); for an endpoint that is not AWS's, placeholder ones when the chain has none.",
		value: func(o *O) flag.Value { return &clientEndpointValue{field(o)} },
		def:   "$AWS_ENDPOINT_URL_KINESIS, else $AWS_ENDPOINT_URL (or endpoint_url in ~/.aws/config), else " + defaultEndpoint,
	}
}

// regionOption is the --region flag of a client command.
func regionOption[O any](field func(*O) *string) cmdOption[O] {
	return cmdOption[O]{
		flag: "region", arg: "region",
		usage: "AWS region to sign requests for; Tributary puts the streams in it.",
		value: func(o *O) flag.Value { return &nonEmptyValue{field(o)} },
		def:   "$AWS_REGION, else $AWS_DEFAULT_REGION, else the profile's, else " + defaultRegion + " off AWS",
	}
}

// clientEndpointValue is an http or https URL, or "aws".
type clientEndpointValue struct{ s *string }

func (v *clientEndpointValue) String() string { return *v.s }

func (v *clientEndpointValue) Set(s string) error {
	if s == endpointAWS {
		*v.s = s
		return nil
	}
	if err := (&urlValue{v.s}).Set(s); err != nil {
		return errors.New(`must be an http or https URL such as http://127.0.0.1:4567, or "aws"`)
	}
	return nil
}

// Defaults of the client commands' --endpoint and --region.
const (
	defaultEndpoint = "http://127.0.0.1:4567"
	defaultRegion   = "us-east-1"
)

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/faults"
)

// newInjector returns the fault injector cfg asks for: one when the admin
// API is on or a faults file is given, loaded from the file; nil
// otherwise, so that a plain server pays nothing for faults.
func newInjector(cfg serveConfig, logger *slog.Logger) (*faults.Injector, error) {
	if !cfg.Admin && cfg.FaultsFile == "" {
		return nil, nil
	}
	inj := faults.New(0)
	if cfg.FaultsFile == "" {
		return inj, nil
	}
	f, err := os.Open(cfg.FaultsFile)
	if err != nil {
		return nil, fmt.Errorf("faults file: %w", err)
	}
	defer f.Close()
	n, err := inj.Load(f)
	if err != nil {
		return nil, fmt.Errorf("faults file %s: %w", cfg.FaultsFile, err)
	}
	// Warn level, like the admin API's notice: a server that fails on
	// purpose must not be mistaken for a broken one.
	logger.Warn(fmt.Sprintf("fault injection is on: loaded %d fault rules", n),
		slog.String("file", cfg.FaultsFile), slog.Int("rules", n))
	return inj, nil
}

// adminInjector is the injector the admin API manages: inj with --admin,
// nil (API off) without.
func adminInjector(cfg serveConfig, inj *faults.Injector) *faults.Injector {
	if !cfg.Admin {
		return nil
	}
	return inj
}

// boolValue is a boolean flag that may be given without a value.
type boolValue struct{ b *bool }

func (v *boolValue) String() string   { return strconv.FormatBool(*v.b) }
func (v *boolValue) IsBoolFlag() bool { return true }

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("must be true or false")
	}
	*v.b = b
	return nil
}

// fileValue is an optional file name.
type fileValue struct{ s *string }

func (v *fileValue) String() string {
	if *v.s == "" {
		return "none"
	}
	return *v.s
}

func (v *fileValue) Set(s string) error {
	*v.s = s
	return nil
}

const faultsUsageText = `Usage:
  tributary faults add   --endpoint URL --op OPERATION --effect EFFECT [flags]
  tributary faults list  --endpoint URL
  tributary faults clear --endpoint URL [--id ID]

Manages the fault rules of a server started with --admin, through its admin
API under /_tributary/faults, with the server's admin token (--admin-token,
or TRIBUTARY_ADMIN_TOKEN). A rule makes matching calls fail or slow down,
deterministically for a given seed. Effects:

  error                 answer with the AWS error --error-type (message
                        --error-message, or AWS's standard one)
  latency               delay the call by --latency
  put_records_failures  fail --fraction of a PutRecords call's entries with
                        --error-code; failed entries are not stored
  expire_iterators      GetRecords answers ExpiredIteratorException for
                        iterators older than --max-age
  drop_subscription     end a SubscribeToShard event stream right after its
                        initial response
  lose_answer           serve the call, then answer InternalFailure (500)
                        instead of its result: records are stored, and the
                        client cannot tell

Each rule applies to every matching call (--probability 1) unless given
--probability P (each call with chance P) or --count N (the next N calls,
then the rule is removed).

Run 'tributary faults add --help' for the flags of add.

Exit status: 0 on success, 1 if the server refused or could not be reached,
2 on wrong usage.
`

// faultsUsage is the help text of "tributary faults".
func faultsUsage() string { return faultsUsageText }

// faultsMain runs "tributary faults".
func faultsMain(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, faultsUsage())
		return 2
	}
	sub, rest := args[0], args[1:]
	var fs *flag.FlagSet
	var do func(c *adminClient) error
	var token *string
	endpoint := func(fs *flag.FlagSet) *string {
		token = fs.String("admin-token", "", "the server's admin `token` (serve --admin-token, or the one it logged at start); default $"+adminTokenEnv)
		return fs.String("endpoint", "http://127.0.0.1:4567", "`URL` of the Tributary server")
	}
	var ep *string
	switch sub {
	case "add":
		fs = flag.NewFlagSet("tributary faults add", flag.ContinueOnError)
		ep = endpoint(fs)
		var r faults.Rule
		var latency, maxAge time.Duration
		var seed uint64
		fs.StringVar(&r.Operation, "op", "", "Kinesis `operation` the rule applies to, e.g. PutRecords, or * for all (required)")
		fs.StringVar(&r.Stream, "stream", "", "only calls on this stream `name`")
		fs.StringVar(&r.Shard, "shard", "", "only calls on this shard `id`")
		fs.StringVar((*string)(&r.Effect), "effect", "", "`effect`: error, latency, put_records_failures, expire_iterators, drop_subscription or lose_answer (required)")
		fs.Float64Var(&r.Probability, "probability", 0, "chance from 0 to 1 that a matching call meets the fault (default 1)")
		fs.IntVar(&r.Count, "count", 0, "fault the next `N` matching calls, then remove the rule")
		fs.StringVar(&r.ErrorType, "error-type", "", "exception of --effect error, e.g. ProvisionedThroughputExceededException")
		fs.StringVar(&r.ErrorMessage, "error-message", "", "message of --effect error (default AWS's for the type)")
		fs.DurationVar(&latency, "latency", 0, "delay of --effect latency, e.g. 200ms")
		fs.Float64Var(&r.Fraction, "fraction", 0, "share of entries --effect put_records_failures fails, above 0 and at most 1")
		fs.StringVar(&r.ErrorCode, "error-code", "", "ErrorCode of failed entries: ProvisionedThroughputExceededException (default) or InternalFailure")
		fs.DurationVar(&maxAge, "max-age", 0, "iterator lifetime of --effect expire_iterators, e.g. 1s")
		fs.Uint64Var(&seed, "seed", 0, "seed of this rule's generator (default: the server's)")
		do = func(c *adminClient) error {
			r.Latency, r.MaxAge = faults.Duration(latency), faults.Duration(maxAge)
			fs.Visit(func(f *flag.Flag) {
				if f.Name == "seed" {
					r.Seed = &seed
				}
			})
			// Checked here too so that a mistake is a usage error, 2.
			check := r
			if err := faults.Validate(&check); err != nil {
				return usageError{err}
			}
			body, err := json.Marshal(r)
			if err != nil {
				return err
			}
			out, err := c.do(ctx, http.MethodPost, "", body, http.StatusCreated)
			if err != nil {
				return err
			}
			stdout.Write(out)
			return nil
		}
	case "list":
		fs = flag.NewFlagSet("tributary faults list", flag.ContinueOnError)
		ep = endpoint(fs)
		do = func(c *adminClient) error {
			out, err := c.do(ctx, http.MethodGet, "", nil, http.StatusOK)
			if err != nil {
				return err
			}
			stdout.Write(out)
			return nil
		}
	case "clear":
		fs = flag.NewFlagSet("tributary faults clear", flag.ContinueOnError)
		ep = endpoint(fs)
		id := fs.String("id", "", "clear only the rule with this `ID` (default: all rules)")
		do = func(c *adminClient) error {
			path := ""
			if *id != "" {
				path = "/" + url.PathEscape(*id)
			}
			_, err := c.do(ctx, http.MethodDelete, path, nil, http.StatusNoContent)
			return err
		}
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, faultsUsage())
		return 0
	default:
		fmt.Fprintf(stderr, "tributary faults: unknown command %q\n\n%s", sub, faultsUsage())
		return 2
	}

	fs.SetOutput(io.Discard)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, flagUsage(fs))
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v\n\nRun '%s --help' for the flags.\n", fs.Name(), err, fs.Name())
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2
	}
	u, err := url.Parse(*ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "%s: --endpoint %q must be an http:// or https:// URL\n", fs.Name(), *ep)
		return 2
	}
	if *token == "" {
		*token, _ = lookupEnv(adminTokenEnv)
	}
	c := &adminClient{base: strings.TrimSuffix(u.String(), "/") + "/_tributary/faults", token: *token, http: &http.Client{Timeout: 30 * time.Second}}
	if err := do(c); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		if errors.As(err, new(usageError)) {
			return 2
		}
		return 1
	}
	return 0
}

// flagUsage is the help text of a faults subcommand.
func flagUsage(fs *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s [flags]\n\nFlags:\n", fs.Name())
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// usageError is a mistake in the command line found after parsing.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// adminClient calls the fault routes of the admin API.
type adminClient struct {
	base  string // .../_tributary/faults
	token string // the admin token; "" sends none
	http  *http.Client
}

// adminTokenEnv is the environment variable of the admin token, for
// serve and for tributary faults alike.
const adminTokenEnv = "TRIBUTARY_ADMIN_TOKEN"

// do sends a request to base+path and returns the response body, or an
// error carrying the server's message if the status is not want.
func (c *adminClient) do(ctx context.Context, method, path string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	if resp.StatusCode != want {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(out, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("server answered %s: %s", resp.Status, e.Error)
		}
		return nil, fmt.Errorf("server answered %s (is it a Tributary server started with --admin?)", resp.Status)
	}
	return out, nil
}

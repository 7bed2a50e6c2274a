package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/tributary-io/tributary/sdkhttp"
)

// endpointAWS is the --endpoint value that means AWS's own Kinesis
// endpoint of the region, as the SDK finds it.
const endpointAWS = "aws"

// awsClient is what a client command talks to a Kinesis endpoint with:
// the SDK client, and for the commands that sign requests themselves
// (api) the endpoint, region and credentials it resolved.
type awsClient struct {
	Kinesis     *kinesis.Client
	Endpoint    string // base URL, never empty
	Region      string
	Credentials aws.CredentialsProvider
	HTTP        *sdkhttp.Client
	// closeIdle closes the connections left idle, for the end of the
	// command: a call cancelled while its connection was being dialed
	// leaves one that never carried a request, which a server shutting
	// down gracefully waits for (net/http gives such connections 5s).
	closeIdle func()
}

// newKinesisClient returns the client of the commands that talk to an
// endpoint as a client (put, tail, streams, capture...), all alike:
//
//   - the endpoint is endpoint (the --endpoint flag) when set, else what
//     the SDK's configuration names (AWS_ENDPOINT_URL_KINESIS,
//     AWS_ENDPOINT_URL, endpoint_url in ~/.aws/config), else Tributary's
//     default address; "aws" is AWS's endpoint of the region;
//   - the region is region (--region) when set, else the SDK's
//     (AWS_REGION, AWS_DEFAULT_REGION, the profile's), else us-east-1
//     for an endpoint that is not AWS's;
//   - the credentials are the SDK's chain (environment, AWS_PROFILE and
//     the shared files, SSO, web identity, containers, EC2), and for an
//     endpoint that is not AWS's, when the chain finds none, placeholder
//     ones: Tributary and other emulators take any, so
//     the local case needs no setup. Against AWS, none is an error.
//
// conns is how many connections to keep idle between calls: one per
// call the command may have in flight.
func newKinesisClient(ctx context.Context, endpoint, region string, conns int) (*awsClient, error) {
	load := func(extra ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
		var opts []func(*awsconfig.LoadOptions) error
		if region != "" {
			opts = append(opts, awsconfig.WithRegion(region))
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx, append(opts, extra...)...)
		if err != nil {
			return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
		}
		return cfg, nil
	}
	// EC2's instance metadata service is left out of the chain unless the
	// endpoint is AWS's: off EC2, asking it costs seconds of timeouts
	// before the placeholder credentials are used.
	cfg, err := load(awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	if err != nil {
		return nil, err
	}
	// base is the endpoint the SDK client is given; nil lets the SDK find
	// AWS's endpoint of the region.
	var base *string
	switch endpoint {
	case endpointAWS:
	case "":
		// The SDK's client finds the configured endpoint, the service's
		// own (AWS_ENDPOINT_URL_KINESIS) before the global one.
		base = kinesis.NewFromConfig(cfg).Options().BaseEndpoint
		if aws.ToString(base) == "" {
			base = aws.String(defaultEndpoint)
		}
	default:
		base = aws.String(endpoint)
	}
	onAWS := base == nil || isAWSEndpoint(*base)
	if onAWS {
		if cfg, err = load(); err != nil {
			return nil, err
		}
		if cfg.Region == "" {
			return nil, errors.New("no AWS region: set --region, AWS_REGION or a profile's region")
		}
	} else if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	if _, err := retrieve(ctx, cfg.Credentials); err != nil {
		if onAWS {
			return nil, fmt.Errorf("no AWS credentials: %w", err)
		}
		cfg.Credentials = credentials.NewStaticCredentialsProvider("tributary", "tributary", "")
	}

	// The SDK's transport, held here so that its idle connections can be
	// closed (a BuildableClient does not say which transport it built).
	tr := awshttp.NewBuildableClient().GetTransport()
	tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, conns)
	tr.MaxIdleConns = max(tr.MaxIdleConns, conns)
	// Wrapped: the SDK's own client can close a connection under an
	// answer the server sent (see package sdkhttp).
	httpClient := sdkhttp.Wrap(&http.Client{
		Transport: tr,
		// As the SDK's client: an answer is never a redirect to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	})
	c := &awsClient{
		Kinesis: kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
			o.BaseEndpoint = base
			o.HTTPClient = httpClient
			o.Retryer = retry.NewStandard()
		}),
		Endpoint:    aws.ToString(base),
		Region:      cfg.Region,
		Credentials: cfg.Credentials,
		HTTP:        httpClient,
		closeIdle:   tr.CloseIdleConnections,
	}
	if base == nil {
		// AWS's public endpoint of the region, for the calls signed here.
		c.Endpoint = "https://kinesis." + cfg.Region + ".amazonaws.com"
	}
	return c, nil
}

// retrieve asks provider for credentials, with a bound on the time a
// source that does not answer can take.
func retrieve(ctx context.Context, provider aws.CredentialsProvider) (aws.Credentials, error) {
	if provider == nil {
		return aws.Credentials{}, errors.New("no credential source")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return provider.Retrieve(ctx)
}

// isAWSEndpoint reports whether the base URL u is one of AWS's.
func isAWSEndpoint(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	return strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn") || strings.HasSuffix(h, ".api.aws")
}

// describeStream returns the stream's summary, by name or ARN, or an
// error that says why it cannot be used: it does not exist (the AWS
// error's code and message), or it is being created or deleted.
func describeStream(ctx context.Context, c *kinesis.Client, stream string) (*types.StreamDescriptionSummary, error) {
	in := &kinesis.DescribeStreamSummaryInput{}
	if strings.HasPrefix(stream, "arn:") {
		in.StreamARN = aws.String(stream)
	} else {
		in.StreamName = aws.String(stream)
	}
	out, err := c.DescribeStreamSummary(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %s", stream, errorText(err))
	}
	d := out.StreamDescriptionSummary
	switch d.StreamStatus {
	case types.StreamStatusCreating, types.StreamStatusDeleting:
		return nil, fmt.Errorf("stream %s is %s", stream, d.StreamStatus)
	}
	return d, nil
}

// errorText is err with an AWS error shown as its code and message,
// rather than the SDK's long text of the operation, status and request
// id.
func errorText(err error) string {
	var op *smithy.OperationError
	var api smithy.APIError
	if errors.As(err, &op) && errors.As(op, &api) {
		return strings.TrimSuffix(err.Error(), op.Error()) + api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}

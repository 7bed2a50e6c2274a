package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/tributary-io/tributary/sdkhttp"
)

// newKinesisClient returns the Kinesis client of the commands that talk
// to an endpoint as a client (put, tail): found and signed as bench's
// (newClient in package bench), with the standard retryer. conns is how
// many connections to keep idle between calls: one per call the command
// may have in flight. closeIdle closes the connections left idle, for
// the end of the command: a call cancelled while its connection was
// being dialed leaves one that never carried a request, which a server
// shutting down gracefully waits for (net/http gives such connections
// 5s).
func newKinesisClient(endpoint, region string, conns int) (c *kinesis.Client, closeIdle func()) {
	// The SDK's transport, held here so that its idle connections can be
	// closed (a BuildableClient does not say which transport it built).
	tr := awshttp.NewBuildableClient().GetTransport()
	tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, conns)
	tr.MaxIdleConns = max(tr.MaxIdleConns, conns)
	httpClient := &http.Client{
		Transport: tr,
		// As the SDK's client: an answer is never a redirect to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       region,
		// Emulators accept any credentials.
		Credentials: credentials.NewStaticCredentialsProvider("tributary", "tributary", ""),
		// Wrapped: the SDK's own client can close a connection under an
		// answer the server sent (see package sdkhttp).
		HTTPClient: sdkhttp.Wrap(httpClient),
		Retryer:    retry.NewStandard(),
	}), tr.CloseIdleConnections
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

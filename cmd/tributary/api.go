package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tributary-io/tributary/internal/cli"
)

// apiTargetPrefix is the X-Amz-Target of Kinesis's operations, before
// the operation's name.
const apiTargetPrefix = "Kinesis_20131202."

// apiMaxBody bounds the answer read: a GetRecords answer is at most
// some 10 MiB of records in base64.
const apiMaxBody = 64 << 20

func apiCommand() *clientCommand[clientOptions] {
	client := func(o *clientOptions) *clientOptions { return o }
	return &clientCommand[clientOptions]{
		name: "api", family: "api",
		synopsis: "api OPERATION ['{json}' | -] [--endpoint url] [--region region]",
		doc: `Makes one raw Kinesis call: POSTs the JSON body (the second argument,
standard input with -, {} when left out) to the endpoint with the
X-Amz-Target Kinesis_20131202.OPERATION and the Content-Type
application/x-amz-json-1.1, signed with SigV4 with the credentials and
region found as every client command finds them, and prints the answer's
body: indented when standard output is a terminal, as it came otherwise.
Neither the operation nor the body is checked here: the endpoint answers
a wrong one (UnknownOperationException, SerializationException).

  tributary api ListStreams '{"Limit": 5}'
  echo '{"StreamName":"s"}' | tributary api DescribeStreamSummary -

The call is made once, without retries.

Exit status: 0 for a 200 answer, 1 for an error answer (its __type and
message on standard error) or no answer, 2 for wrong usage.
`,
		options:  connectionOptionList(client),
		defaults: func() clientOptions { return clientOptions{} },
		client:   client,
		check: func(_ *clientOptions, pos []string) error {
			if len(pos) <= 1 {
				return wantArgs(pos, "operation")
			}
			return wantArgs(pos, "operation", "JSON body")
		},
		conns: 1,
		run:   runAPI,
	}
}

func apiMain(ctx context.Context, args []string, cio cmdIO) int {
	return apiCommand().main(ctx, args, cio)
}

func runAPI(ctx context.Context, c *awsClient, _ *clientOptions, pos []string, cio cmdIO) error {
	op, body := pos[0], []byte("{}")
	switch {
	case len(pos) > 1 && pos[1] == "-":
		b, err := io.ReadAll(cio.stdin)
		if err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
		body = b
	case len(pos) > 1:
		body = []byte(pos[1])
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", apiTargetPrefix+op)
	creds, err := retrieve(ctx, c.Credentials)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "kinesis", c.Region, time.Now()); err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, apiMaxBody))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return apiError(resp.StatusCode, answer)
	}
	if cli.IsTerminal(cio.stdout) && len(answer) > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, answer, "", "  ") == nil {
			answer = append(pretty.Bytes(), '\n')
		}
	}
	_, err = cio.stdout.Write(answer)
	return err
}

// apiError is the error of an answer other than 200: the AWS error's
// type and message, or the status and the body when it is not one.
func apiError(status int, body []byte) error {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	if json.Unmarshal(body, &e) != nil || e.Type == "" {
		return fmt.Errorf("%d %s: %s", status, http.StatusText(status), strings.TrimSpace(string(body)))
	}
	// The type may be namespaced: com.amazonaws.kinesis#ResourceNotFoundException.
	if i := strings.LastIndexByte(e.Type, '#'); i >= 0 {
		e.Type = e.Type[i+1:]
	}
	msg := e.Message
	if msg == "" {
		msg = e.Message2
	}
	if msg == "" {
		// AWS sends some, SerializationException among them, without one.
		return errors.New(e.Type)
	}
	return errors.New(e.Type + ": " + msg)
}

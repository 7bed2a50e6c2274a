package sdkhttp_test

import (
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/sdkhttp"
)

func ExampleNew() {
	client := kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String("http://127.0.0.1:4567"),
		Region:       "us-east-1",
		HTTPClient:   sdkhttp.New(),
	})
	_ = client
}

func ExampleWrap() {
	// Settings the SDK would otherwise apply, or your own, go on the
	// client that is wrapped.
	buildable := awshttp.NewBuildableClient().
		WithTimeout(30 * time.Second).
		WithTransportOptions(func(t *http.Transport) { t.MaxIdleConnsPerHost = 64 })
	client := kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String("http://127.0.0.1:4567"),
		Region:       "us-east-1",
		HTTPClient:   sdkhttp.Wrap(buildable),
	})
	_ = client
}

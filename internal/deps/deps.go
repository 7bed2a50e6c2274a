package deps
import (
 _ "github.com/aws/aws-sdk-go-v2/service/kinesis"
 _ "github.com/aws/aws-sdk-go-v2/config"
 _ "github.com/aws/aws-sdk-go-v2/credentials"
 _ "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
 _ "github.com/fxamacker/cbor/v2"
 _ "golang.org/x/net/http2/h2c"
)

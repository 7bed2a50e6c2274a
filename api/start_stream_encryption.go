package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) startStreamEncryption(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.StartStreamEncryptionInput)
	return nil, a.svc.StartStreamEncryption(ctx, scope, stream.EncryptionInput{
		Stream:         ref(in.StreamName, in.StreamARN),
		EncryptionType: str(in.EncryptionType),
		KeyID:          str(in.KeyID),
	})
}

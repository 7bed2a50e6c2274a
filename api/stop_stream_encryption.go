package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) stopStreamEncryption(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.StopStreamEncryptionInput)
	return nil, a.svc.StopStreamEncryption(ctx, scope, stream.EncryptionInput{
		Stream:         ref(in.StreamName, in.StreamARN),
		EncryptionType: str(in.EncryptionType),
		KeyID:          str(in.KeyID),
	})
}

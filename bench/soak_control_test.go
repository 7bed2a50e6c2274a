package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/tributary-io/tributary/internal/inproc"
)

// TestDailyScalingQuotaIsRecognised spends a stream's ten UpdateShardCount
// calls on a real server and checks that the soak tells the refusal of the
// eleventh (a quota: retrying would wait a day) from throttling, which it
// retries. A 30-minute soak once spent its whole life retrying it.
func TestDailyScalingQuotaIsRecognised(t *testing.T) {
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	call := func(target int32) error {
		_, err := kc.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("s"),
			TargetShardCount: aws.Int32(target), ScalingType: types.ScalingTypeUniformScaling})
		return err
	}
	for i := range 10 {
		target := int32(2 - i%2)
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := call(target)
			if err == nil {
				break
			}
			var inUse *types.ResourceInUseException
			if !errors.As(err, &inUse) || time.Now().After(deadline) {
				t.Fatalf("call %d: %v", i+1, err)
			}
			time.Sleep(10 * time.Millisecond) // still UPDATING
		}
	}
	var err11 error
	for deadline := time.Now().Add(10 * time.Second); ; {
		err11 = call(1)
		var inUse *types.ResourceInUseException
		if !errors.As(err11, &inUse) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !dailyScalingQuota(err11) {
		t.Fatalf("the eleventh call's error %v is not recognised as the daily quota", err11)
	}
	if dailyScalingQuota(&types.LimitExceededException{Message: aws.String("Rate exceeded for stream s under account 000000000000.")}) {
		t.Error("a rate's LimitExceededException is taken for the daily quota")
	}
	if dailyScalingQuota(nil) {
		t.Error("no error is taken for the daily quota")
	}
}

package consumer_test

import (
	"testing"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/consumer/leasetest"
)

func TestMemoryLeaseStore(t *testing.T) {
	leasetest.Run(t, func(t *testing.T) consumer.LeaseStore { return consumer.NewMemoryLeaseStore() })
}

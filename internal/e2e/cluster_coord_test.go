package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// findCoordinator asks a live node, directly, which node coordinates key
// (keyType 0: a group, 1: a transactional id), and has that node confirm
// it; -1 and the reason while there is no answer both agree on.
func findCoordinator(c *clustertest.Cluster, keyType int8, key string) (int32, error) {
	ask := func(n int) (int32, error) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr(n)))
		if err != nil {
			return -1, err
		}
		defer cl.Close()
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType, req.CoordinatorKey, req.CoordinatorKeys = keyType, key, []string{key}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return -1, fmt.Errorf("node %d: %w", n, err)
		}
		code, id := resp.ErrorCode, resp.NodeID
		if len(resp.Coordinators) == 1 {
			code, id = resp.Coordinators[0].ErrorCode, resp.Coordinators[0].NodeID
		}
		if err := kerr.ErrorForCode(code); err != nil {
			return -1, fmt.Errorf("node %d: %w", n, err)
		}
		return id, nil
	}
	live := c.Live()
	if len(live) == 0 {
		return -1, fmt.Errorf("no live node")
	}
	id, err := ask(live[0])
	if err != nil {
		return -1, err
	}
	if !slices.Contains(live, int(id)) {
		return -1, fmt.Errorf("node %d names node %d, which is down", live[0], id)
	}
	again, err := ask(int(id))
	if err != nil {
		return -1, err
	}
	if again != id {
		return -1, fmt.Errorf("node %d names node %d as coordinator, node %d names %d", live[0], id, id, again)
	}
	return id, nil
}

// waitCoordinator waits until the coordinator of key is a live node other
// than not, and returns it.
func waitCoordinator(t *testing.T, c *clustertest.Cluster, keyType int8, key string, not int32, timeout time.Duration) int32 {
	t.Helper()
	var id int32
	kafkatest.Eventually(t, timeout, func() error {
		var err error
		if id, err = findCoordinator(c, keyType, key); err != nil {
			return err
		}
		if id == not {
			return fmt.Errorf("node %d is still named the coordinator of %q", id, key)
		}
		return nil
	})
	return id
}

// TestClusterCoordinatorFirstUse: the first FindCoordinator requests of a
// new cluster reach every node at once, so each node asks the controller
// to create the internal topics and all but one hear that they exist
// before their own metadata has them. Each still answers, and they agree.
func TestClusterCoordinatorFirstUse(t *testing.T) {
	c := clustertest.Start(t, 3, clusterProps...)
	c.WaitReady(t, 30*time.Second)
	type answer struct {
		node    int
		keyType int8
		id      int32
		err     error
	}
	answers := make(chan answer, 6*c.N())
	var wg sync.WaitGroup
	for n := 1; n <= c.N(); n++ {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr(n)))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		// Connect first, so the requests below leave together.
		if _, err := kmsg.NewPtrApiVersionsRequest().RequestWith(context.Background(), cl); err != nil {
			t.Fatal(err)
		}
		for _, keyType := range []int8{0, 1} {
			for k := 0; k < 3; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := kmsg.NewPtrFindCoordinatorRequest()
					req.CoordinatorType, req.CoordinatorKeys = keyType, []string{fmt.Sprintf("first-use-%d", k)}
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					resp, err := req.RequestWith(ctx, cl)
					if err == nil {
						err = kerr.ErrorForCode(resp.Coordinators[0].ErrorCode)
					}
					a := answer{node: n, keyType: keyType, id: -1, err: err}
					if err == nil {
						a.id = resp.Coordinators[0].NodeID
					}
					answers <- a
				}()
			}
		}
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		// COORDINATOR_NOT_AVAILABLE is a fine first answer while the
		// partitions get their leaders; a dropped connection is not.
		if a.err != nil && !errors.Is(a.err, kerr.CoordinatorNotAvailable) {
			t.Errorf("node %d, key type %d: %v", a.node, a.keyType, a.err)
		}
	}
	for _, keyType := range []int8{0, 1} {
		for k := 0; k < 3; k++ {
			waitCoordinator(t, c, keyType, fmt.Sprintf("first-use-%d", k), -1, 20*time.Second)
		}
	}
	for n := 1; n <= c.N(); n++ {
		if !c.Running(n) {
			t.Errorf("node %d is not running", n)
		}
	}
}

package controller

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Client sends a broker's requests to the active controller: straight to
// the local Handler when this node leads the quorum, otherwise over the
// network to the leader's CONTROLLER listener. It follows leader changes,
// retrying on NOT_CONTROLLER and connection errors until ctx ends.
type Client struct {
	q         *Quorum
	local     *Handler
	localID   int32
	localHost string

	mu      sync.Mutex
	clients map[string]*kgo.Client
	// next is the voter to try when no leader is known (Request only).
	next int
}

// NewClient returns a client; local may be nil on a broker-only node.
func NewClient(q *Quorum, local *Handler, localID int32, localHost string) *Client {
	return &Client{q: q, local: local, localID: localID, localHost: localHost, clients: map[string]*kgo.Client{}}
}

// Close closes the network clients.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.clients {
		cl.Close()
	}
	clear(c.clients)
}

func (c *Client) remote(addr string) (*kgo.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.clients[addr]; cl != nil {
		return cl, nil
	}
	cl, err := NodeClient(addr, c.localHost, fmt.Sprintf("samsa-broker-%d", c.localID), kgo.ConnIdleTimeout(time.Minute))
	if err != nil {
		return nil, err
	}
	c.clients[addr] = cl
	return cl, nil
}

// NodeClient returns a franz-go client for one other node at addr, dialing
// from localHost (see Dial), for raw requests to that node (seed broker 0):
// no retries, the caller decides.
func NodeClient(addr, localHost, clientID string, opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ClientID(clientID),
		kgo.Dialer(func(ctx context.Context, _, host string) (net.Conn, error) { return Dial(ctx, localHost, host) }),
		kgo.RequestRetries(0), kgo.RetryTimeout(0)}, opts...)...)
}

// guessTimeout bounds a request to a voter tried without knowing it leads.
const guessTimeout = 5 * time.Second

// guess returns the voter to try next when this node knows no leader, and
// whether it ends a round through the voters. A broker-only node knows no
// leader until the leader has added it to the Raft group (and none again
// when the leader's heartbeats stop), and a NOT_CONTROLLER answer names
// none, so it tries each voter in turn.
func (c *Client) guess() (id int32, addr string, roundEnd bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vs := c.q.cfg.Voters
	for range vs {
		i := c.next % len(vs)
		c.next = i + 1
		if vs[i].ID != c.localID {
			// The round ends with the last voter other than this node.
			last := true
			for _, v := range vs[i+1:] {
				last = last && v.ID == c.localID
			}
			return vs[i].ID, vs[i].Addr, last
		}
	}
	return -1, "", true
}

// Request sends req to the active controller and returns its response.
func (c *Client) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	backoff := 20 * time.Millisecond
	var last error
	for {
		id, addr := c.q.Leader()
		pause, guessed := true, id == -1
		if guessed {
			// Only one voter is the controller: try the next one at once,
			// back off once per round.
			id, addr, pause = c.guess()
		}
		var resp kmsg.Response
		var err error
		switch {
		case id == -1:
			err = fmt.Errorf("no controller is elected")
		case id == c.localID && c.local != nil:
			if v, ok := served[req.Key()]; ok {
				req.SetVersion(v[1])
			}
			resp, err = c.local.Serve(ctx, req)
		default:
			var cl *kgo.Client
			if cl, err = c.remote(addr); err == nil {
				seeds := cl.SeedBrokers()
				if len(seeds) == 0 {
					err = fmt.Errorf("no connection to %s", addr)
				} else if !guessed {
					resp, err = seeds[0].Request(ctx, req)
				} else {
					// A guessed voter that is frozen or cut off must not
					// hold the request until ctx ends.
					gctx, cancel := context.WithTimeout(ctx, guessTimeout)
					resp, err = seeds[0].Request(gctx, req)
					cancel()
				}
			}
		}
		if err == nil && !notController(resp) {
			return resp, nil
		}
		if err == nil {
			err = fmt.Errorf("node %d is not the active controller", id)
		}
		last = err
		if !pause && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no answer from the active controller: %w (last: %v)", ctx.Err(), last)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// notController reports a response refused because the receiver no longer
// leads the quorum.
func notController(resp kmsg.Response) bool {
	nc := kerr.NotController.Code
	switch r := resp.(type) {
	case *kmsg.BrokerRegistrationResponse:
		return r.ErrorCode == nc
	case *kmsg.BrokerHeartbeatResponse:
		return r.ErrorCode == nc
	case *kmsg.AllocateProducerIDsResponse:
		return r.ErrorCode == nc
	case *kmsg.ElectLeadersResponse:
		return r.ErrorCode == nc
	case *kmsg.AlterPartitionAssignmentsResponse:
		return r.ErrorCode == nc
	case *kmsg.ListPartitionReassignmentsResponse:
		return r.ErrorCode == nc
	case *kmsg.UnregisterBrokerResponse:
		return r.ErrorCode == nc
	case *kmsg.AlterPartitionResponse:
		if r.ErrorCode == nc {
			return true
		}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode == nc {
					return true
				}
			}
		}
	case *kmsg.CreateTopicsResponse:
		for _, t := range r.Topics {
			if t.ErrorCode == nc {
				return true
			}
		}
	case *kmsg.DeleteTopicsResponse:
		for _, t := range r.Topics {
			if t.ErrorCode == nc {
				return true
			}
		}
	case *kmsg.CreatePartitionsResponse:
		for _, t := range r.Topics {
			if t.ErrorCode == nc {
				return true
			}
		}
	case *kmsg.AlterConfigsResponse:
		for _, t := range r.Resources {
			if t.ErrorCode == nc {
				return true
			}
		}
	}
	return false
}

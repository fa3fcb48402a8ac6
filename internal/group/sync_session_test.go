package group

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A member whose session timer fired while it waited in SyncGroup must get
// a new one when its SyncGroup is answered (Kafka's propagateAssignment
// reschedules it): otherwise a member that dies right after it got its
// assignment is never expired and keeps its partitions forever.
func TestSessionRearmedAfterLongSyncWait(t *testing.T) {
	const session = 150 * time.Millisecond
	c := New(Config{MinSessionTimeout: time.Millisecond, InitialRebalance: 300 * time.Millisecond}, 1, newMemStore(), nil)
	defer c.Close()
	if err := c.LoadPartition(0); err != nil {
		t.Fatal(err)
	}
	join := func() chan *kmsg.JoinGroupResponse {
		ch := make(chan *kmsg.JoinGroupResponse, 1)
		req := kmsg.NewPtrJoinGroupRequest()
		req.SetVersion(3)
		req.Group, req.ProtocolType = "g", "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = int32(session/time.Millisecond), 10000
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", []byte{0}
		req.Protocols = append(req.Protocols, p)
		go func() { ch <- c.JoinGroup(context.Background(), req, "client", "/host") }()
		return ch
	}
	ja, jb := join(), join()
	ra, rb := <-ja, <-jb
	if ra.ErrorCode != 0 || rb.ErrorCode != 0 || ra.Generation != rb.Generation {
		t.Fatalf("joins: %+v %+v", ra, rb)
	}
	leader, follower := ra, rb
	if rb.MemberID == rb.LeaderID {
		leader, follower = rb, ra
	}
	sync := func(r *kmsg.JoinGroupResponse, assign bool) *kmsg.SyncGroupResponse {
		req := kmsg.NewPtrSyncGroupRequest()
		req.SetVersion(3)
		req.Group, req.MemberID, req.Generation = "g", r.MemberID, r.Generation
		if assign {
			for _, id := range []string{leader.MemberID, follower.MemberID} {
				a := kmsg.NewSyncGroupRequestGroupAssignment()
				a.MemberID, a.MemberAssignment = id, []byte{1}
				req.GroupAssignment = append(req.GroupAssignment, a)
			}
		}
		return c.SyncGroup(context.Background(), req)
	}
	heartbeat := func(r *kmsg.JoinGroupResponse) int16 {
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.MemberID, req.Generation = "g", r.MemberID, r.Generation
		return c.Heartbeat(req).ErrorCode
	}
	fs := make(chan *kmsg.SyncGroupResponse, 1)
	go func() { fs <- sync(follower, false) }()
	// The leader takes longer than a session to send its assignment,
	// heartbeating meanwhile; the follower waits in SyncGroup.
	for i := 0; i < 8; i++ {
		time.Sleep(session / 3)
		if code := heartbeat(leader); code != 0 {
			t.Fatalf("leader heartbeat: error %d", code)
		}
	}
	if r := sync(leader, true); r.ErrorCode != 0 {
		t.Fatalf("leader sync: error %d", r.ErrorCode)
	}
	if r := <-fs; r.ErrorCode != 0 {
		t.Fatalf("follower sync: error %d", r.ErrorCode)
	}
	// The follower now dies; the leader stays. The follower's session
	// must expire, which starts a rebalance.
	deadline := time.Now().Add(10 * session)
	for time.Now().Before(deadline) {
		time.Sleep(session / 3)
		if code := heartbeat(leader); code != 0 {
			return // REBALANCE_IN_PROGRESS: the follower was expired
		}
	}
	d := c.DescribeGroup("g")
	t.Fatalf("the follower was never expired: group %s with %d members", d.State, len(d.Members))
}

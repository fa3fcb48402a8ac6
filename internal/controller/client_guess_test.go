package controller

import "testing"

// A node that knows no active controller tries the voters in turn and
// backs off once per round (Client.guess reports the round's end). Every
// round must end within one pass over the voters, whichever voter this
// node is; otherwise Request retries without ever pausing, a hot loop of
// requests while the quorum has no leader.
func TestClientGuessEndsEveryRound(t *testing.T) {
	voters := []Voter{{ID: 1, Addr: "a:1"}, {ID: 2, Addr: "b:2"}, {ID: 3, Addr: "c:3"}}
	for _, local := range []int32{-1, 1, 2, 3} {
		c := &Client{q: &Quorum{cfg: QuorumConfig{Voters: voters}}, localID: local}
		others := len(voters)
		if local >= 0 {
			others--
		}
		for round := 0; round < 3; round++ {
			seen := map[int32]bool{}
			ended := false
			for i := 0; i < others && !ended; i++ {
				id, _, end := c.guess()
				if id == local || id < 0 {
					t.Fatalf("local %d: guessed %d", local, id)
				}
				seen[id] = true
				ended = end
			}
			if !ended {
				t.Fatalf("local %d, round %d: %d guesses (%v) without the end of a round", local, round, others, seen)
			}
			if len(seen) != others {
				t.Fatalf("local %d, round %d: a round tried %v, want all %d other voters", local, round, seen, others)
			}
		}
	}
}

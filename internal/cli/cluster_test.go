package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
)

// samsa cluster status on a single node: the node as broker, controller and
// only voter; partitions counted; JSON for scripts; bad flags refused.
func TestClusterStatus(t *testing.T) {
	b := kafkatest.Start(t)
	mustRun(t, "", "topic", "create", "cs", "--partitions", "3", "-b", b.Addr)
	host, port, _ := strings.Cut(b.Addr, ":")
	out := mustRun(t, "", "cluster", "status", "-o", "json", "-b", b.Addr)
	var st clusterStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if st.ClusterID == "" || st.Controller != 1 || len(st.Brokers) != 1 || st.Brokers[0].ID != 1 || st.Brokers[0].Host != host ||
		fmt.Sprint(st.Brokers[0].Port) != port || st.Partitions != 3 || len(st.Under) != 0 || len(st.Offline) != 0 ||
		st.Quorum == nil || st.Quorum.Leader != 1 || len(st.Quorum.Voters) != 1 || st.Quorum.Voters[0].Lag != 0 {
		t.Fatalf("%+v", st)
	}
	text := mustRun(t, "", "cluster", "status", "-b", b.Addr)
	want := fmt.Sprintf("Cluster:     %s\nController:  1\n\nBROKER  ADDRESS          RACK\n1       %-15s  -\n\nQuorum:      leader 1, epoch 0, high watermark 0\n"+
		"VOTER  LOG-END  LAG\n1      0        0\n\nPartitions:  3, 0 under-replicated, 0 offline\n", st.ClusterID, b.Addr)
	if text != want {
		t.Fatalf("got:\n%s\nwant:\n%s", text, want)
	}
	if _, _, err := runCLI(t, "", "cluster", "status", "extra", "-b", b.Addr); err == nil || !strings.Contains(err.Error(), `unexpected argument "extra"`) {
		t.Fatalf("extra argument: %v", err)
	}
	if _, _, err := runCLI(t, "", "cluster", "status", "-o", "yaml", "-b", b.Addr); err == nil || !strings.Contains(err.Error(), "want one of text, json") {
		t.Fatalf("bad format: %v", err)
	}
}

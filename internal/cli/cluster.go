package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// samsa cluster status: the brokers, the metadata quorum and the health of
// every partition, from DescribeCluster, DescribeQuorum and Metadata, like
// kafka-metadata-quorum.sh describe --status plus kafka-topics.sh
// --under-replicated-partitions. cluster reassign and cluster elect live in
// cluster_reassign.go and cluster_elect.go.

func init() { commands = append(commands, newClusterCmd) }

func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Show the cluster's health, move replicas, elect leaders",
		Long: `Inspect and operate a cluster over the Kafka admin APIs. Works against
samsa or any KRaft Kafka cluster.

  status     brokers, controller quorum, under-replicated and offline partitions
  reassign   move replicas between brokers (kafka-reassign-partitions.sh)
  elect      preferred or unclean leader elections (kafka-leader-election.sh)
  unregister remove a decommissioned broker (kafka-cluster.sh unregister)`,
		Example: `  samsa cluster status
  samsa cluster status -b 127.0.0.1:9092 -o json
  samsa cluster reassign --topic orders --partition 0 --replicas 3,1,2 --wait
  samsa cluster elect --all`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(newClusterStatusCmd(), newClusterReassignCmd(), newClusterElectCmd(), newClusterUnregisterCmd())
	return cmd
}

type clusterStatusOptions struct {
	cf     clientFlags
	format string
}

type clusterStatus struct {
	ClusterID  string          `json:"cluster_id"`
	Controller int32           `json:"controller"`
	Brokers    []statusBroker  `json:"brokers"`
	Quorum     *statusQuorum   `json:"quorum,omitempty"`
	Partitions int             `json:"partitions"`
	Under      []statusPartErr `json:"under_replicated"`
	Offline    []statusPartErr `json:"offline"`
}

type statusBroker struct {
	ID   int32   `json:"id"`
	Host string  `json:"host"`
	Port int32   `json:"port"`
	Rack *string `json:"rack,omitempty"`
}

type statusQuorum struct {
	Leader        int32         `json:"leader"`
	Epoch         int32         `json:"epoch"`
	HighWatermark int64         `json:"high_watermark"`
	Voters        []statusVoter `json:"voters"`
	// Observers are broker-only nodes, which follow the metadata log
	// without voting.
	Observers []statusVoter `json:"observers,omitempty"`
}

type statusVoter struct {
	ID           int32 `json:"id"`
	LogEndOffset int64 `json:"log_end_offset"`
	Lag          int64 `json:"lag"`
}

type statusPartErr struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Leader    int32   `json:"leader"`
	Replicas  []int32 `json:"replicas"`
	ISR       []int32 `json:"isr"`
}

func newClusterStatusCmd() *cobra.Command {
	var o clusterStatusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Brokers, the controller quorum, under-replicated and offline partitions",
		Long: `Print the live brokers, the metadata quorum (leader, epoch, each voter's
lag behind the leader) and the partitions whose ISR is smaller than their
replica set (under-replicated) or that have no leader (offline).

Exit status 0 whatever the health; -o json prints one object with
"cluster_id", "controller", "brokers", "quorum", "partitions",
"under_replicated" and "offline" for scripts and monitoring.`,
		Example: `  samsa cluster status
  samsa cluster status -o json | jq '.under_replicated | length'`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return runClusterStatus(cmd, &o) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.format, "format", "o", "text", "output format: text or json")
	o.cf.register(fs)
	return cmd
}

func runClusterStatus(cmd *cobra.Command, o *clusterStatusOptions) error {
	if err := outputFormat(o.format, "text", "json"); err != nil {
		return err
	}
	ctx := cmd.Context()
	cl, err := o.cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()

	var st clusterStatus
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
	if err != nil {
		return o.cf.apiErr(ctx, cl, "describe the cluster", kmsg.DescribeCluster, err)
	}
	if err := kerr.ErrorForCode(dc.ErrorCode); err != nil {
		return o.cf.requestErr("describe the cluster", err)
	}
	st.ClusterID, st.Controller = dc.ClusterID, dc.ControllerID
	for _, b := range dc.Brokers {
		st.Brokers = append(st.Brokers, statusBroker{ID: b.NodeID, Host: b.Host, Port: b.Port, Rack: b.Rack})
	}
	slices.SortFunc(st.Brokers, func(a, b statusBroker) int { return int(a.ID - b.ID) })

	qreq := kmsg.NewPtrDescribeQuorumRequest()
	qt := kmsg.NewDescribeQuorumRequestTopic()
	qt.Topic = "__cluster_metadata"
	qt.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	qreq.Topics = []kmsg.DescribeQuorumRequestTopic{qt}
	if q, err := qreq.RequestWith(ctx, cl); err == nil && q.ErrorCode == 0 && len(q.Topics) == 1 && len(q.Topics[0].Partitions) == 1 {
		p := q.Topics[0].Partitions[0]
		sq := &statusQuorum{Leader: p.LeaderID, Epoch: p.LeaderEpoch, HighWatermark: p.HighWatermark}
		leo := int64(-1)
		for _, v := range p.CurrentVoters {
			if v.ReplicaID == p.LeaderID {
				leo = v.LogEndOffset
			}
		}
		member := func(v kmsg.DescribeQuorumResponseTopicPartitionReplicaState) statusVoter {
			lag := int64(-1)
			if leo >= 0 && v.LogEndOffset >= 0 {
				lag = max(leo-v.LogEndOffset, 0)
			}
			return statusVoter{ID: v.ReplicaID, LogEndOffset: v.LogEndOffset, Lag: lag}
		}
		for _, v := range p.CurrentVoters {
			sq.Voters = append(sq.Voters, member(v))
		}
		for _, v := range p.Observers {
			sq.Observers = append(sq.Observers, member(v))
		}
		byID := func(a, b statusVoter) int { return int(a.ID - b.ID) }
		slices.SortFunc(sq.Voters, byID)
		slices.SortFunc(sq.Observers, byID)
		st.Quorum = sq
	}

	md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		return o.cf.apiErr(ctx, cl, "read the metadata", kmsg.Metadata, err)
	}
	st.Under, st.Offline = []statusPartErr{}, []statusPartErr{}
	for _, t := range md.Topics {
		for _, p := range t.Partitions {
			st.Partitions++
			e := statusPartErr{Topic: *t.Topic, Partition: p.Partition, Leader: p.Leader, Replicas: p.Replicas, ISR: p.ISR}
			switch {
			case p.Leader < 0:
				st.Offline = append(st.Offline, e)
			case len(p.ISR) < len(p.Replicas):
				st.Under = append(st.Under, e)
			}
		}
	}
	out := cmd.OutOrStdout()
	if o.format == "json" {
		return writeJSON(out, st)
	}
	printClusterStatus(out, &st)
	return nil
}

func printClusterStatus(w io.Writer, st *clusterStatus) {
	ctl := fmt.Sprint(st.Controller)
	if q := st.Quorum; q != nil && q.Leader >= 0 && q.Leader != st.Controller {
		// With controller-only nodes, brokers name one of themselves as
		// the controller (KIP-590): say which node really is.
		ctl = fmt.Sprintf("%d (brokers forward to it; the active controller is node %d)", st.Controller, q.Leader)
	}
	fmt.Fprintf(w, "Cluster:     %s\nController:  %s\n\n", st.ClusterID, ctl)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BROKER\tADDRESS\tRACK")
	for _, b := range st.Brokers {
		rack := "-"
		if b.Rack != nil {
			rack = *b.Rack
		}
		fmt.Fprintf(tw, "%d\t%s:%d\t%s\n", b.ID, b.Host, b.Port, rack)
	}
	tw.Flush()
	if q := st.Quorum; q != nil {
		fmt.Fprintf(w, "\nQuorum:      leader %d, epoch %d, high watermark %d\n", q.Leader, q.Epoch, q.HighWatermark)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, group := range []struct {
			title   string
			members []statusVoter
		}{{"VOTER", q.Voters}, {"OBSERVER", q.Observers}} {
			if len(group.members) == 0 && group.title == "OBSERVER" {
				continue
			}
			fmt.Fprintf(tw, "%s\tLOG-END\tLAG\n", group.title)
			for _, v := range group.members {
				leo, lag := "?", "?"
				if v.LogEndOffset >= 0 {
					leo = fmt.Sprint(v.LogEndOffset)
				}
				if v.Lag >= 0 {
					lag = fmt.Sprint(v.Lag)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\n", v.ID, leo, lag)
			}
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nPartitions:  %d, %d under-replicated, %d offline\n", st.Partitions, len(st.Under), len(st.Offline))
	for _, list := range []struct {
		name string
		ps   []statusPartErr
	}{{"under-replicated", st.Under}, {"offline", st.Offline}} {
		for _, p := range list.ps {
			fmt.Fprintf(w, "  %s %s-%d leader %d replicas %s isr %s\n", list.name, p.Topic, p.Partition, p.Leader, ints(p.Replicas), ints(p.ISR))
		}
	}
}

func ints(v []int32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(s, ",") + "]"
}

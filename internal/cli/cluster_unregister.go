package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// samsa cluster unregister: remove a broker that is gone for good from the
// cluster's metadata, like kafka-cluster.sh unregister.

type clusterUnregisterOptions struct {
	cf     clientFlags
	id     int32
	format string
}

func newClusterUnregisterCmd() *cobra.Command {
	var o clusterUnregisterOptions
	cmd := &cobra.Command{
		Use:   "unregister",
		Short: "Remove a decommissioned broker from the cluster's metadata",
		Long: `Remove a broker's registration over the UnregisterBroker API, like
kafka-cluster.sh unregister: for a broker that is gone for good. It leaves
every ISR (the last member of one stays, so the partition can come back
with it), its leaderships move, and a broker-only node stops following the
metadata log. A broker that is still running registers again at its next
heartbeat, so stop it first. Move its replicas away first too ('samsa
cluster reassign'): partitions that keep it in their replica list stay
under-replicated.

An id that is not registered is BROKER_ID_NOT_REGISTERED, exit status 1.
-o json prints {"broker": N, "unregistered": true}.`,
		Example: `  samsa cluster unregister --id 4`,
		Args:    argsBetween(0, 0, "no arguments (name the broker with --id)"),
		RunE:    func(cmd *cobra.Command, _ []string) error { return runClusterUnregister(cmd, &o) },
	}
	fs := cmd.Flags()
	fs.Int32Var(&o.id, "id", -1, "id of the broker to unregister (required)")
	fs.StringVarP(&o.format, "format", "o", "text", "output format: text or json")
	o.cf.register(fs)
	return cmd
}

func runClusterUnregister(cmd *cobra.Command, o *clusterUnregisterOptions) error {
	if err := outputFormat(o.format, "text", "json"); err != nil {
		return err
	}
	if o.id < 0 {
		return usagef("--id is required: the node.id of the broker to unregister")
	}
	ctx := cmd.Context()
	cl, err := o.cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrUnregisterBrokerRequest()
	req.BrokerID = o.id
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return o.cf.apiErr(ctx, cl, "unregister a broker", kmsg.UnregisterBroker, err)
	}
	if resp.ErrorCode != 0 {
		return topErr(fmt.Sprintf("unregister broker %d", o.id), resp.ErrorCode, resp.ErrorMessage)
	}
	if o.format == "json" {
		return writeJSON(cmd.OutOrStdout(), struct {
			Broker       int32 `json:"broker"`
			Unregistered bool  `json:"unregistered"`
		}{o.id, true})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Unregistered broker %d.\n", o.id)
	return nil
}

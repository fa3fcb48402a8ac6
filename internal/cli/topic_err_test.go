package cli

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestTopicErrOneLine(t *testing.T) {
	for _, tc := range []struct {
		err  error
		msg  string
		want string
	}{
		// Our phrase already says it; the broker's message would repeat it.
		{kerr.UnknownTopicOrPartition, "unknown topic: x", `topic "x" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`},
		// The broker's message is more specific than Kafka's description.
		{kerr.InvalidConfig, `invalid value "abc" for "retention.ms": not an integer`,
			`topic "x": invalid value "abc" for "retention.ms": not an integer (INVALID_CONFIG)`},
		// Without a message, the first sentence of Kafka's description.
		{kerr.InvalidPartitions, "", `topic "x": number of partitions is below 1 (INVALID_PARTITIONS)`},
	} {
		if got := topicErr("x", tc.err, tc.msg).Error(); got != tc.want {
			t.Errorf("topicErr(%v, %q)\n got %s\nwant %s", tc.err, tc.msg, got, tc.want)
		}
	}
}

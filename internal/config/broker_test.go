package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestNewBrokerDefaults(t *testing.T) {
	b, err := NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.NodeID != 1 || !reflect.DeepEqual(b.ProcessRoles, []string{"broker", "controller"}) {
		t.Errorf("node.id %d, process.roles %q", b.NodeID, b.ProcessRoles)
	}
	want := []Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}
	if !reflect.DeepEqual(b.Listeners, want) || !reflect.DeepEqual(b.AdvertisedListeners, want) {
		t.Errorf("listeners %v, advertised %v", b.Listeners, b.AdvertisedListeners)
	}
	if b.InterBrokerListenerName != "PLAINTEXT" || b.ListenerSecurityProtocolMap["SASL_SSL"] != "SASL_SSL" {
		t.Errorf("inter-broker listener %q, map %v", b.InterBrokerListenerName, b.ListenerSecurityProtocolMap)
	}
	if !reflect.DeepEqual(b.LogDirs, []string{"./samsa-data"}) {
		t.Errorf("log dirs %q", b.LogDirs)
	}
	for name, got := range map[string]any{
		"num.partitions":                   b.NumPartitions,
		"default.replication.factor":       b.DefaultReplicationFactor,
		"auto.create.topics.enable":        b.AutoCreateTopicsEnable,
		"socket.request.max.bytes":         b.SocketRequestMaxBytes,
		"connections.max.idle.ms":          b.ConnectionsMaxIdleMs,
		"log.retention.check.interval.ms":  b.LogRetentionCheckIntervalMs,
		"group.initial.rebalance.delay.ms": b.GroupInitialRebalanceDelayMs,
		"offsets.topic.replication.factor": b.OffsetsTopicReplicationFactor,
		"producer.id.expiration.ms":        b.ProducerIDExpirationMs,
		"transaction.max.timeout.ms":       b.TransactionMaxTimeoutMs,
	} {
		want := map[string]any{
			"num.partitions":                   int32(1),
			"default.replication.factor":       int16(1),
			"auto.create.topics.enable":        true,
			"socket.request.max.bytes":         int32(104857600),
			"connections.max.idle.ms":          int64(600000),
			"log.retention.check.interval.ms":  int64(300000),
			"group.initial.rebalance.delay.ms": int32(3000),
			"offsets.topic.replication.factor": int16(3),
			"producer.id.expiration.ms":        int64(86400000),
			"transaction.max.timeout.ms":       int32(900000),
		}[name]
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if v, ok := b.Get("log.retention.hours"); !ok || v != "168" {
		t.Errorf("Get(log.retention.hours) = %q, %v", v, ok)
	}
	if _, ok := b.Get("log.retention.ms"); ok {
		t.Error("Get(log.retention.ms) has a value; Kafka's default is null")
	}
	if len(b.Ignored()) != 0 {
		t.Errorf("ignored %q", b.Ignored())
	}
}

func TestNewBrokerErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		want  []string
	}{
		{"not an integer", map[string]string{"num.partitions": "abc"},
			[]string{`invalid value "abc" for "num.partitions": not an integer`}},
		{"below minimum", map[string]string{"num.partitions": "-5"},
			[]string{`invalid value "-5" for "num.partitions": must be at least 1`}},
		{"int overflow", map[string]string{"message.max.bytes": "99999999999"},
			[]string{`invalid value "99999999999" for "message.max.bytes": out of range for a 32-bit integer`}},
		{"short overflow", map[string]string{"offsets.topic.replication.factor": "40000"},
			[]string{`invalid value "40000" for "offsets.topic.replication.factor": out of range for a 16-bit integer`}},
		{"field narrower than Kafka type", map[string]string{"default.replication.factor": "40000"},
			[]string{`invalid value "40000" for "default.replication.factor": out of range for a 16-bit integer`}},
		{"boolean", map[string]string{"auto.create.topics.enable": "yes"},
			[]string{`invalid value "yes" for "auto.create.topics.enable": not a boolean (true or false)`}},
		{"double", map[string]string{"log.cleaner.min.cleanable.ratio": "half"},
			[]string{`invalid value "half" for "log.cleaner.min.cleanable.ratio": not a number`}},
		{"double range", map[string]string{"log.cleaner.min.cleanable.ratio": "1.5"},
			[]string{`invalid value "1.5" for "log.cleaner.min.cleanable.ratio": must be between 0.0 and 1.0`}},
		{"one of", map[string]string{"compression.type": "brotli"},
			[]string{`invalid value "brotli" for "compression.type": must be one of: uncompressed, zstd, lz4, snappy, gzip, producer`}},
		{"list of", map[string]string{"log.cleanup.policy": "compact, shred"},
			[]string{`invalid value "compact, shred" for "log.cleanup.policy": "shred" is not one of: compact, delete`}},
		{"between", map[string]string{"compression.lz4.level": "18"},
			[]string{`invalid value "18" for "compression.lz4.level": must be between 1 and 17`}},
		{"gzip level", map[string]string{"compression.gzip.level": "0"},
			[]string{`invalid value "0" for "compression.gzip.level": must be -1 or between 1 and 9`}},
		{"unknown", map[string]string{"foo.bar": "1"},
			[]string{`unknown config key "foo.bar"`}},
		{"typo", map[string]string{"num.partiton": "1"},
			[]string{`unknown config key "num.partiton" (did you mean "num.partitions"?)`}},
		{"typo in a long key", map[string]string{"log.retention.hour": "1"},
			[]string{`unknown config key "log.retention.hour" (did you mean "log.retention.hours"?)`}},
		{"topic key on the broker", map[string]string{"retention.ms": "1"},
			[]string{`unknown config key "retention.ms" ("retention.ms" is a topic config; the broker default is "log.retention.ms")`}},
		{"bad listener", map[string]string{"listeners": "PLAINTEXT//localhost:9092"},
			[]string{`invalid value "PLAINTEXT//localhost:9092" for "listeners": "PLAINTEXT//localhost:9092" is not NAME://host:port`}},
		{"listener without protocol", map[string]string{"listeners": "PLAINTEXT://:9092,INTERNAL://:9093"},
			[]string{`invalid value "PLAINTEXT://:9092,INTERNAL://:9093" for "listeners": listener INTERNAL has no entry in listener.security.protocol.map`}},
		{"bad port", map[string]string{"listeners": "PLAINTEXT://:99999"},
			[]string{`invalid value "PLAINTEXT://:99999" for "listeners": "PLAINTEXT://:99999": port must be between 0 and 65535`}},
		{"advertised wildcard", map[string]string{"advertised.listeners": "PLAINTEXT://0.0.0.0:9092"},
			[]string{`invalid value "PLAINTEXT://0.0.0.0:9092" for "advertised.listeners": listener PLAINTEXT must name a host clients can reach, not a wildcard`}},
		{"process roles", map[string]string{"process.roles": "broker,voter"},
			[]string{`invalid value "broker,voter" for "process.roles": "voter" is not one of: broker, controller`}},
		{"node.id and broker.id disagree", map[string]string{"node.id": "1", "broker.id": "2"},
			[]string{`invalid value "2" for "broker.id": must match node.id (1)`}},
		{"both inter-broker settings", map[string]string{"inter.broker.listener.name": "PLAINTEXT", "security.inter.broker.protocol": "PLAINTEXT"},
			[]string{`invalid value "PLAINTEXT" for "inter.broker.listener.name": set only one of inter.broker.listener.name and security.inter.broker.protocol`}},
		{"inter-broker listener missing", map[string]string{"inter.broker.listener.name": "REPLICATION"},
			[]string{`invalid value "REPLICATION" for "inter.broker.listener.name": no advertised listener is named REPLICATION`}},
		{"quorum voters", map[string]string{"controller.quorum.voters": "1@localhost:9093,two@x:1"},
			[]string{`invalid value "1@localhost:9093,two@x:1" for "controller.quorum.voters": "two@x:1" is not id@host:port`}},
		{"bootstrap servers without voters", map[string]string{"controller.quorum.bootstrap.servers": "127.0.0.1:9093"},
			[]string{`dynamic quorums (KIP-853) are not supported: list every controller in controller.quorum.voters as id@host:port instead`}},
		{"broker-only without voters", map[string]string{"process.roles": "broker"},
			[]string{`process.roles=broker needs controller.quorum.voters: only a node with both roles (broker,controller) can run alone`}},
		{"controller-only without voters", map[string]string{"process.roles": "controller", "controller.listener.names": "CONTROLLER", "listeners": "CONTROLLER://:9093"},
			[]string{`process.roles=controller needs controller.quorum.voters: only a node with both roles (broker,controller) can run alone`}},
		{"broker-only voter", map[string]string{"process.roles": "broker", "node.id": "2", "controller.quorum.voters": "1@a:9093,2@b:9093"},
			[]string{`node.id 2 is in controller.quorum.voters (1@a:9093,2@b:9093), but process.roles=broker: a broker-only node is no voter; give it a node.id of its own or add the controller role`}},
		{"broker-only with a controller listener", map[string]string{"process.roles": "broker", "node.id": "4", "controller.quorum.voters": "1@a:9093",
			"controller.listener.names": "CONTROLLER", "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093"},
			[]string{`listeners has CONTROLLER, a controller listener (controller.listener.names=CONTROLLER), but process.roles=broker runs no controller; remove it from listeners`}},
		{"controller not a voter", map[string]string{"node.id": "4", "controller.quorum.voters": "1@a:9093", "controller.listener.names": "CONTROLLER",
			"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093"},
			[]string{`node.id 4 is not in controller.quorum.voters (1@a:9093); a controller must be one of the voters`}},
		{"controller-only not a voter", map[string]string{"process.roles": "controller", "node.id": "4", "controller.quorum.voters": "1@a:9093",
			"controller.listener.names": "CONTROLLER", "listeners": "CONTROLLER://:9093"},
			[]string{`node.id 4 is not in controller.quorum.voters (1@a:9093); a controller must be one of the voters`}},
		{"controller-only with a client listener", map[string]string{"process.roles": "controller", "controller.quorum.voters": "1@a:9093",
			"controller.listener.names": "CONTROLLER", "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093"},
			[]string{`listeners has PLAINTEXT, which is not a controller listener (controller.listener.names=CONTROLLER), but process.roles=controller serves no Kafka clients; list only controller listeners`}},
		{"controller-only advertising a client listener", map[string]string{"process.roles": "controller", "controller.quorum.voters": "1@a:9093",
			"controller.listener.names": "CONTROLLER", "listeners": "CONTROLLER://:9093", "advertised.listeners": "PLAINTEXT://a:9092"},
			[]string{`advertised.listeners has PLAINTEXT, which is not a controller listener (controller.listener.names=CONTROLLER), but process.roles=controller serves no Kafka clients`}},
		{"controller-only with a schema registry", map[string]string{"process.roles": "controller", "controller.quorum.voters": "1@a:9093",
			"controller.listener.names": "CONTROLLER", "listeners": "CONTROLLER://:9093", "schema.registry.listeners": "http://127.0.0.1:8081"},
			[]string{`schema.registry.listeners is set, but process.roles=controller runs no broker for it to use; run it on a broker node`}},
		{"unknown replica selector", map[string]string{"replica.selector.class": "com.example.NearestReplicaSelector"},
			[]string{`invalid value "com.example.NearestReplicaSelector" for "replica.selector.class": must be one of: org.apache.kafka.common.replica.RackAwareReplicaSelector`}},
		{"empty replica selector", map[string]string{"replica.selector.class": " "},
			[]string{`invalid value " " for "replica.selector.class": not a class name`}},
		{"bad listener-prefixed value", map[string]string{"listener.name.internal.ssl.client.auth": "always"},
			[]string{`invalid value "always" for "listener.name.internal.ssl.client.auth": must be one of: required, requested, none`}},
		{"every problem, in key order", map[string]string{"num.partitions": "x", "foo": "1", "log.segment.bytes": "10", "delete.topic.enable": "nope"},
			[]string{
				`invalid value "nope" for "delete.topic.enable": not a boolean (true or false)`,
				`unknown config key "foo"`,
				`invalid value "10" for "log.segment.bytes": must be at least 14`,
				`invalid value "x" for "num.partitions": not an integer`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBroker(tc.props)
			if err == nil {
				t.Fatalf("no error; broker %+v", b)
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Key == "" {
				t.Errorf("error does not unwrap to an *Error with a key: %v", err)
			}
		})
	}
}

func TestNewBrokerValues(t *testing.T) {
	b, err := NewBroker(map[string]string{
		"node.id":                        "3",
		"process.roles":                  "broker",
		"controller.quorum.voters":       "1@ctl-1:9093",
		"listeners":                      "PLAINTEXT://:9092,REPL://[::1]:9094",
		"advertised.listeners":           "PLAINTEXT://kafka-3.example:9092,REPL://[::1]:9094",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,REPL:SSL",
		"inter.broker.listener.name":     "REPL",
		"log.dirs":                       "/data/a, /data/b",
		"log.dir":                        "/ignored",
		"num.partitions":                 " 6 ",
		"auto.create.topics.enable":      "FALSE",
		"zookeeper.connect":              "zk:2181",
		"num.io.threads":                 "16",
		"replica.selector.class":         " org.apache.kafka.common.replica.RackAwareReplicaSelector",
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.NodeID != 3 || b.NumPartitions != 6 || b.AutoCreateTopicsEnable {
		t.Errorf("node.id %d, num.partitions %d, auto create %v", b.NodeID, b.NumPartitions, b.AutoCreateTopicsEnable)
	}
	wantL := []Listener{{"PLAINTEXT", "", 9092}, {"REPL", "::1", 9094}}
	if !reflect.DeepEqual(b.Listeners, wantL) {
		t.Errorf("listeners %v", b.Listeners)
	}
	if b.AdvertisedListeners[0].Host != "kafka-3.example" || b.AdvertisedListeners[1].String() != "REPL://[::1]:9094" {
		t.Errorf("advertised %v", b.AdvertisedListeners)
	}
	if b.InterBrokerListenerName != "REPL" || b.SecurityInterBrokerProtocol != "SSL" {
		t.Errorf("inter-broker %q %q", b.InterBrokerListenerName, b.SecurityInterBrokerProtocol)
	}
	if !reflect.DeepEqual(b.LogDirs, []string{"/data/a", "/data/b"}) {
		t.Errorf("log dirs %q", b.LogDirs)
	}
	if v, _ := b.Get("num.partitions"); v != "6" {
		t.Errorf("Get(num.partitions) = %q, want canonical 6", v)
	}
	if v, _ := b.Get("auto.create.topics.enable"); v != "false" {
		t.Errorf("Get(auto.create.topics.enable) = %q, want canonical false", v)
	}
	if v, _ := b.Get("broker.id"); v != "3" {
		t.Errorf("broker.id = %q, want node.id's 3", v)
	}
	if b.ReplicaSelectorClass != RackAwareReplicaSelector {
		t.Errorf("replica.selector.class = %q", b.ReplicaSelectorClass)
	}
	if got, want := b.Ignored(), []string{"num.io.threads", "zookeeper.connect"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ignored %q, want %q", got, want)
	}
}

func TestControllerListener(t *testing.T) {
	b, err := NewBroker(map[string]string{
		"listeners":                 "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
		"controller.listener.names": "CONTROLLER",
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.ListenerSecurityProtocolMap["CONTROLLER"] != "PLAINTEXT" {
		t.Errorf("controller listener not mapped to PLAINTEXT: %v", b.ListenerSecurityProtocolMap)
	}
	if len(b.AdvertisedListeners) != 1 || b.AdvertisedListeners[0].Name != "PLAINTEXT" {
		t.Errorf("advertised listeners %v should leave out the controller listener", b.AdvertisedListeners)
	}
	_, err = NewBroker(map[string]string{"controller.listener.names": "CONTROLLER"})
	if err == nil || err.Error() != `invalid value "CONTROLLER" for "controller.listener.names": listener CONTROLLER is not in listeners` {
		t.Errorf("got %v", err)
	}
}

func TestSetOverridesFile(t *testing.T) {
	file := map[string]string{"num.partitions": "3", "log.retention.hours": "24"}
	sets, err := ParseSets([]string{"num.partitions=5"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBroker(Merge(file, sets))
	if err != nil {
		t.Fatal(err)
	}
	if b.NumPartitions != 5 {
		t.Errorf("num.partitions = %d, want --set's 5", b.NumPartitions)
	}
	if got := b.ResolveTopic(nil).RetentionMs; got != 24*hourMs {
		t.Errorf("retention.ms = %d, want the file's 24h", got)
	}
}

func TestRedacted(t *testing.T) {
	b, err := NewBroker(map[string]string{
		"ssl.keystore.password": "s3cret",
		"sasl.jaas.config":      "org.apache.kafka.common.security.plain.PlainLoginModule required;",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required;",
		"ssl.keystore.location":                               "/etc/ks.jks",
		"num.partitions":                                      "2",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ssl.keystore.password": "[hidden]",
		"sasl.jaas.config":      "[hidden]",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": "[hidden]",
		"ssl.keystore.location":                               "/etc/ks.jks",
		"num.partitions":                                      "2",
	}
	if got := b.Redacted(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if v, _ := b.Get("ssl.keystore.password"); v != "s3cret" {
		t.Errorf("Get must return the real password, got %q", v)
	}
}

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 0.5: "0.5", 1: "1.0", 0.05: "0.05", 0.001: "0.001", 1e-4: "1.0E-4",
		9999999: "9999999.0", 1e7: "1.0E7", 1.5e10: "1.5E10", 1.7976931348623157e308: "1.7976931348623157E308",
		-2.5: "-2.5",
	} {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestProcessRolesValid(t *testing.T) {
	for _, props := range []map[string]string{
		{"process.roles": "controller", "node.id": "1", "controller.quorum.voters": "1@a:9093,2@b:9093,3@c:9093",
			"controller.listener.names": "CONTROLLER", "listeners": "CONTROLLER://127.0.0.1:9093", "schema.registry.listeners": ""},
		{"process.roles": "broker", "node.id": "4", "controller.quorum.voters": "1@a:9093,2@b:9093,3@c:9093",
			"controller.listener.names": "CONTROLLER", "listeners": "PLAINTEXT://127.0.0.1:9092"},
		{"process.roles": "broker,controller", "node.id": "2", "controller.quorum.voters": "1@a:9093,2@b:9093,3@c:9093",
			"controller.listener.names": "CONTROLLER", "listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"},
	} {
		b, err := NewBroker(props)
		if err != nil {
			t.Errorf("%v: %v", props, err)
			continue
		}
		want := props["process.roles"]
		if got := strings.Join(b.ProcessRoles, ","); got != want {
			t.Errorf("process.roles %q, want %q", got, want)
		}
		if b.HasRole("broker") != strings.Contains(want, "broker") || b.HasRole("controller") != strings.Contains(want, "controller") {
			t.Errorf("%s: HasRole broker %v controller %v", want, b.HasRole("broker"), b.HasRole("controller"))
		}
		if want == "controller" && len(b.AdvertisedListeners) != 0 {
			t.Errorf("controller-only node advertises %v", b.AdvertisedListeners)
		}
	}
}

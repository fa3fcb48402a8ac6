package config

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Broker is the static broker configuration, validated and with defaults
// filled in. A field tagged `config:"key"` holds that key's value; every
// other key is reachable through Get. A ",compat" tag marks a key that is
// read but has no effect in samsa (Kafka thread pool sizes); Ignored lists
// it when set. A Broker is never modified after
// NewBroker returns, so it may be shared between goroutines.
type Broker struct {
	NodeID       int32    `config:"node.id"`
	ProcessRoles []string `config:"process.roles"`
	BrokerRack   string   `config:"broker.rack"`

	// Listeners, from "NAME://host:port" entries; Host is empty for all
	// interfaces.
	Listeners []Listener
	// AdvertisedListeners defaults to Listeners minus the controller
	// listeners.
	AdvertisedListeners []Listener
	// ListenerSecurityProtocolMap maps listener name to security protocol.
	// Controller listeners missing from a map left at its default get
	// PLAINTEXT, as in Kafka.
	ListenerSecurityProtocolMap map[string]string
	ControllerListenerNames     []string
	// InterBrokerListenerName is inter.broker.listener.name, or else the
	// listener named after security.inter.broker.protocol.
	InterBrokerListenerName     string
	SecurityInterBrokerProtocol string `config:"security.inter.broker.protocol"`

	// LogDirs is log.dirs, or else log.dir.
	LogDirs        []string
	MetadataLogDir string `config:"metadata.log.dir"`

	NumPartitions            int32 `config:"num.partitions"`
	DefaultReplicationFactor int16 `config:"default.replication.factor"`
	AutoCreateTopicsEnable   bool  `config:"auto.create.topics.enable"`
	DeleteTopicEnable        bool  `config:"delete.topic.enable"`
	MessageMaxBytes          int32 `config:"message.max.bytes"`
	MinInsyncReplicas        int32 `config:"min.insync.replicas"`
	FetchMaxBytes            int32 `config:"fetch.max.bytes"`

	SocketRequestMaxBytes    int32 `config:"socket.request.max.bytes"`
	SocketSendBufferBytes    int32 `config:"socket.send.buffer.bytes"`
	SocketReceiveBufferBytes int32 `config:"socket.receive.buffer.bytes"`
	ConnectionsMaxIdleMs     int64 `config:"connections.max.idle.ms"`
	MaxConnections           int32 `config:"max.connections"`
	MaxConnectionsPerIP      int32 `config:"max.connections.per.ip"`
	QueuedMaxRequests        int32 `config:"queued.max.requests"`
	RequestTimeoutMs         int32 `config:"request.timeout.ms"`
	NumNetworkThreads        int32 `config:"num.network.threads,compat"`
	NumIOThreads             int32 `config:"num.io.threads,compat"`

	LogRetentionCheckIntervalMs           int64 `config:"log.retention.check.interval.ms"`
	LogFlushSchedulerIntervalMs           int64 `config:"log.flush.scheduler.interval.ms"`
	LogFlushOffsetCheckpointIntervalMs    int64 `config:"log.flush.offset.checkpoint.interval.ms"`
	LogFlushStartOffsetCheckpointInterval int64 `config:"log.flush.start.offset.checkpoint.interval.ms"`
	LogCleanerEnable                      bool  `config:"log.cleaner.enable"`
	LogCleanerThreads                     int32 `config:"log.cleaner.threads"`
	LogCleanerBackoffMs                   int64 `config:"log.cleaner.backoff.ms"`
	LogCleanerDedupeBufferSize            int64 `config:"log.cleaner.dedupe.buffer.size"`
	NumRecoveryThreadsPerDataDir          int32 `config:"num.recovery.threads.per.data.dir"`

	ReplicaLagTimeMaxMs                      int64 `config:"replica.lag.time.max.ms"`
	ReplicaFetchMaxBytes                     int32 `config:"replica.fetch.max.bytes"`
	ReplicaFetchMinBytes                     int32 `config:"replica.fetch.min.bytes"`
	ReplicaFetchWaitMaxMs                    int32 `config:"replica.fetch.wait.max.ms"`
	ReplicaFetchBackoffMs                    int32 `config:"replica.fetch.backoff.ms"`
	ReplicaFetchResponseMaxBytes             int32 `config:"replica.fetch.response.max.bytes"`
	NumReplicaFetchers                       int32 `config:"num.replica.fetchers"`
	ReplicaHighWatermarkCheckpointIntervalMs int64 `config:"replica.high.watermark.checkpoint.interval.ms"`
	// ReplicaSelectorClass is "" (consumers read from leaders only) or
	// RackAwareReplicaSelector.
	ReplicaSelectorClass        string `config:"replica.selector.class"`
	UncleanLeaderElectionEnable bool   `config:"unclean.leader.election.enable"`
	AutoLeaderRebalanceEnable   bool   `config:"auto.leader.rebalance.enable"`

	ControllerQuorumVoters            []string `config:"controller.quorum.voters"`
	ControllerQuorumBootstrapServers  []string `config:"controller.quorum.bootstrap.servers"`
	ControllerQuorumElectionTimeoutMs int32    `config:"controller.quorum.election.timeout.ms"`
	ControllerQuorumFetchTimeoutMs    int32    `config:"controller.quorum.fetch.timeout.ms"`
	ControllerQuorumElectionBackoffMs int32    `config:"controller.quorum.election.backoff.max.ms"`
	ControllerQuorumAppendLingerMs    int32    `config:"controller.quorum.append.linger.ms"`
	ControllerQuorumRequestTimeoutMs  int32    `config:"controller.quorum.request.timeout.ms"`
	ControllerQuorumRetryBackoffMs    int32    `config:"controller.quorum.retry.backoff.ms"`
	BrokerHeartbeatIntervalMs         int32    `config:"broker.heartbeat.interval.ms"`
	BrokerSessionTimeoutMs            int32    `config:"broker.session.timeout.ms"`
	MetadataLogSegmentBytes           int32    `config:"metadata.log.segment.bytes"`
	MetadataLogSegmentMs              int64    `config:"metadata.log.segment.ms"`
	MetadataMaxRetentionBytes         int64    `config:"metadata.max.retention.bytes"`
	MetadataMaxRetentionMs            int64    `config:"metadata.max.retention.ms"`
	MetadataMaxIdleIntervalMs         int32    `config:"metadata.max.idle.interval.ms"`
	MetadataSnapshotMaxNewRecordBytes int64    `config:"metadata.log.max.record.bytes.between.snapshots"`
	MetadataSnapshotMaxIntervalMs     int64    `config:"metadata.log.max.snapshot.interval.ms"`

	GroupMinSessionTimeoutMs        int32 `config:"group.min.session.timeout.ms"`
	GroupMaxSessionTimeoutMs        int32 `config:"group.max.session.timeout.ms"`
	GroupInitialRebalanceDelayMs    int32 `config:"group.initial.rebalance.delay.ms"`
	GroupMaxSize                    int32 `config:"group.max.size"`
	OffsetMetadataMaxBytes          int32 `config:"offset.metadata.max.bytes"`
	OffsetsLoadBufferSize           int32 `config:"offsets.load.buffer.size"`
	OffsetsTopicReplicationFactor   int16 `config:"offsets.topic.replication.factor"`
	OffsetsTopicNumPartitions       int32 `config:"offsets.topic.num.partitions"`
	OffsetsTopicSegmentBytes        int32 `config:"offsets.topic.segment.bytes"`
	OffsetsTopicCompressionCodec    int32 `config:"offsets.topic.compression.codec"`
	OffsetsRetentionMinutes         int32 `config:"offsets.retention.minutes"`
	OffsetsRetentionCheckIntervalMs int64 `config:"offsets.retention.check.interval.ms"`
	OffsetsCommitTimeoutMs          int32 `config:"offsets.commit.timeout.ms"`

	TransactionStateLogNumPartitions       int32    `config:"transaction.state.log.num.partitions"`
	TransactionStateLogReplicationFactor   int16    `config:"transaction.state.log.replication.factor"`
	TransactionStateLogMinISR              int32    `config:"transaction.state.log.min.isr"`
	TransactionStateLogSegmentBytes        int32    `config:"transaction.state.log.segment.bytes"`
	TransactionStateLogLoadBufferSize      int32    `config:"transaction.state.log.load.buffer.size"`
	TransactionPartitionVerificationEnable bool     `config:"transaction.partition.verification.enable"`
	TransactionMaxTimeoutMs                int32    `config:"transaction.max.timeout.ms"`
	TransactionalIDExpirationMs            int32    `config:"transactional.id.expiration.ms"`
	TransactionAbortTimedOutCleanupMs      int32    `config:"transaction.abort.timed.out.transaction.cleanup.interval.ms"`
	TransactionRemoveExpiredCleanupMs      int32    `config:"transaction.remove.expired.transaction.cleanup.interval.ms"`
	ProducerIDExpirationMs                 int64    `config:"producer.id.expiration.ms"`
	ProducerIDExpirationCheckIntervalMs    int64    `config:"producer.id.expiration.check.interval.ms"`
	SaslEnabledMechanisms                  []string `config:"sasl.enabled.mechanisms"`
	SaslMechanismInterBrokerProtocol       string   `config:"sasl.mechanism.inter.broker.protocol"`
	AuthorizerClassName                    string   `config:"authorizer.class.name"`
	SuperUsers                             string   `config:"super.users"`
	AllowEveryoneIfNoACLFound              bool     `config:"allow.everyone.if.no.acl.found"`

	// samsa's companion services in `samsa server` (not Kafka keys).
	SchemaRegistryListeners string `config:"schema.registry.listeners"`
	RestProxyListeners      string `config:"rest.proxy.listeners"`

	set       map[string]string // explicit settings, as given
	originals map[string]string // set, plus broker.id/node.id filled from each other
	values    map[string]*string
}

// Listener is one entry of listeners or advertised.listeners.
type Listener struct {
	Name string
	Host string // empty means all interfaces
	Port int
}

func (l Listener) String() string {
	host := l.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return l.Name + "://" + host + ":" + strconv.Itoa(l.Port)
}

// Error is a problem with one config key. Msg is a complete sentence naming
// the key, suitable as the error message of an INVALID_CONFIG response.
type Error struct {
	Key   string
	Value string
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

func invalid(key, value, reason string) *Error {
	return &Error{Key: key, Value: value, Msg: fmt.Sprintf("invalid value %q for %q: %s", value, key, reason)}
}

func unknown(key string, candidates []string) *Error {
	msg := fmt.Sprintf("unknown config key %q", key)
	if s := suggest(key, candidates); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return &Error{Key: key, Msg: msg}
}

// fieldKeys is the set of keys bound to a Broker field; see Ignored.
var fieldKeys = func() map[string]bool {
	m := map[string]bool{
		// Bound by hand in NewBroker.
		"listeners": true, "advertised.listeners": true, "listener.security.protocol.map": true,
		"controller.listener.names": true, "inter.broker.listener.name": true, "log.dirs": true,
		"log.dir": true, "broker.id": true,
	}
	// Topic synonyms reach the server through ResolveTopic.
	for _, k := range topicKeys {
		for _, s := range k.Synonyms {
			m[s.Name] = true
		}
	}
	t := reflect.TypeOf(Broker{})
	for i := 0; i < t.NumField(); i++ {
		key, compat := fieldKey(t.Field(i))
		if key == "" {
			continue
		}
		if brokerIndex[key] == nil {
			panic("config: Broker field " + t.Field(i).Name + " names unknown key " + key)
		}
		m[key] = !compat
	}
	return m
}()

// fieldKey returns the config key of a struct field and whether the field is
// only read for compatibility.
func fieldKey(f reflect.StructField) (key string, compat bool) {
	key, opt, _ := strings.Cut(f.Tag.Get("config"), ",")
	return key, opt == "compat"
}

// NewBroker validates props, the merged contents of the properties file and
// --set flags, and returns the configuration with defaults filled in. It
// reports every problem, one *Error per line, joined with errors.Join.
func NewBroker(props map[string]string) (*Broker, error) {
	b := &Broker{
		set:       make(map[string]string, len(props)),
		originals: make(map[string]string, len(props)+1),
		values:    make(map[string]*string, len(brokerKeys)),
	}
	var errs []error
	parsed := map[string]any{}
	for _, key := range sortedKeys(props) {
		raw := props[key]
		b.set[key] = raw
		b.originals[key] = raw
		k := brokerIndex[key]
		if k == nil {
			if base, _, ok := splitListenerKey(key); ok {
				k = brokerIndex[base]
			} else {
				errs = append(errs, unknownBrokerKey(key))
				continue
			}
		}
		val, reason := parse(k.Type, raw)
		if reason == "" && k.Check != nil {
			reason = k.Check(val)
		}
		if reason != "" {
			errs = append(errs, invalid(key, raw, reason))
			continue
		}
		if k.Name == key {
			parsed[key] = val
		}
	}

	// broker.id is the older name of node.id (KafkaConfig.populateSynonyms).
	nodeRaw, nodeSet := props["node.id"]
	brokerRaw, brokerSet := props["broker.id"]
	switch {
	case nodeSet && !brokerSet:
		b.originals["broker.id"] = nodeRaw
		if n, ok := parsed["node.id"]; ok {
			parsed["broker.id"] = n
		}
	case brokerSet && !nodeSet:
		b.originals["node.id"] = brokerRaw
		if bid, ok := parsed["broker.id"].(int64); ok {
			if bid < 0 {
				errs = append(errs, invalid("broker.id", brokerRaw, "must be at least 0"))
			}
			parsed["node.id"] = bid
		}
	case nodeSet && brokerSet:
		if n, b2 := parsed["node.id"], parsed["broker.id"]; n != nil && b2 != nil && n != b2 {
			errs = append(errs, invalid("broker.id", brokerRaw, fmt.Sprintf("must match node.id (%s)", strings.TrimSpace(nodeRaw))))
		}
	}

	for _, k := range brokerKeys {
		if val, ok := parsed[k.Name]; ok {
			s := format(val)
			b.values[k.Name] = &s
		} else if k.Default != nil {
			b.values[k.Name] = k.Default
		}
	}
	if err := b.bind(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, b.resolveListeners()...)

	if d := b.value("log.dirs"); d != nil {
		b.LogDirs = splitList(*d)
	} else if d := b.value("log.dir"); d != nil {
		b.LogDirs = splitList(*d)
	}
	if len(b.LogDirs) == 0 {
		errs = append(errs, &Error{Key: "log.dirs", Msg: `invalid value "" for "log.dirs": at least one log directory is needed (log.dirs or log.dir)`})
	}
	if len(b.ProcessRoles) == 0 {
		errs = append(errs, invalid("process.roles", props["process.roles"], "must name broker, controller or both"))
	} else {
		errs = append(errs, b.checkRoles()...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b, nil
}

func unknownBrokerKey(key string) *Error {
	if t := topicIndex[key]; t != nil && len(t.Synonyms) > 0 {
		return &Error{Key: key, Msg: fmt.Sprintf("unknown config key %q (%q is a topic config; the broker default is %q)", key, key, t.Synonyms[0].Name)}
	}
	return unknown(key, names(brokerKeys))
}

func (b *Broker) value(key string) *string { return b.values[key] }

// bind copies values into the tagged fields of b.
func (b *Broker) bind() error {
	rv := reflect.ValueOf(b).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		key, _ := fieldKey(rt.Field(i))
		if key == "" {
			continue
		}
		s := b.values[key]
		if s == nil {
			continue // null: leave the zero value
		}
		val, reason := parse(brokerIndex[key].Type, *s)
		if reason != "" {
			continue // already reported
		}
		f := rv.Field(i)
		if n, ok := val.(int64); ok && f.OverflowInt(n) {
			return invalid(key, *s, fmt.Sprintf("out of range for a %d-bit integer", f.Type().Bits()))
		}
		setField(f, val)
	}
	return nil
}

func (b *Broker) resolveListeners() []error {
	var errs []error
	if s := b.value("controller.listener.names"); s != nil {
		b.ControllerListenerNames = splitList(*s)
	}
	_, mapSet := b.set["listener.security.protocol.map"]
	protoMap, err := parseProtocolMap(*b.value("listener.security.protocol.map"))
	if err != "" {
		errs = append(errs, invalid("listener.security.protocol.map", b.set["listener.security.protocol.map"], err))
		protoMap = map[string]string{}
	}
	if !mapSet {
		for _, n := range b.ControllerListenerNames {
			if _, ok := protoMap[n]; !ok {
				protoMap[n] = "PLAINTEXT"
			}
		}
	}
	b.ListenerSecurityProtocolMap = protoMap

	lraw := ""
	if s := b.value("listeners"); s != nil {
		lraw = *s
	}
	ls, reason := parseListeners(lraw, protoMap)
	if reason != "" {
		errs = append(errs, invalid("listeners", lraw, reason))
	}
	b.Listeners = ls
	if a := b.value("advertised.listeners"); a != nil {
		adv, reason := parseListeners(*a, protoMap)
		if reason != "" {
			errs = append(errs, invalid("advertised.listeners", *a, reason))
		}
		for _, l := range adv {
			if l.Host == "" || l.Host == "0.0.0.0" || l.Host == "::" {
				errs = append(errs, invalid("advertised.listeners", *a, fmt.Sprintf("listener %s must name a host clients can reach, not a wildcard", l.Name)))
				break
			}
		}
		b.AdvertisedListeners = adv
	} else {
		for _, l := range ls {
			if !contains(b.ControllerListenerNames, l.Name) {
				b.AdvertisedListeners = append(b.AdvertisedListeners, l)
			}
		}
	}
	for _, n := range b.ControllerListenerNames {
		if contains(b.ProcessRoles, "controller") && !hasListener(ls, n) {
			errs = append(errs, invalid("controller.listener.names", *b.value("controller.listener.names"), fmt.Sprintf("listener %s is not in listeners", n)))
		}
	}

	ibl := b.value("inter.broker.listener.name")
	_, ibpSet := b.set["security.inter.broker.protocol"]
	switch {
	case ibl != nil && ibpSet:
		b.InterBrokerListenerName = *ibl
		errs = append(errs, invalid("inter.broker.listener.name", *ibl, "set only one of inter.broker.listener.name and security.inter.broker.protocol"))
	case ibl != nil:
		b.InterBrokerListenerName = *ibl
		if p, ok := protoMap[*ibl]; ok {
			b.SecurityInterBrokerProtocol = p
		}
	default:
		b.InterBrokerListenerName = b.SecurityInterBrokerProtocol
	}
	if contains(b.ProcessRoles, "broker") && len(b.AdvertisedListeners) > 0 && !hasListener(b.AdvertisedListeners, b.InterBrokerListenerName) {
		key, val := "inter.broker.listener.name", b.InterBrokerListenerName
		if ibl == nil {
			key = "security.inter.broker.protocol"
		}
		errs = append(errs, invalid(key, val, fmt.Sprintf("no advertised listener is named %s", b.InterBrokerListenerName)))
	}
	return errs
}

// HasRole reports whether process.roles names role ("broker" or
// "controller").
func (b *Broker) HasRole(role string) bool { return contains(b.ProcessRoles, role) }

// checkRoles checks what each process.roles combination requires of the
// quorum and the listeners, as Kafka's KafkaConfig does: a controller is
// one of controller.quorum.voters and a broker-only node is not; a
// controller-only node listens on controller listeners only and a
// broker-only node on none of them. Each problem is one line.
func (b *Broker) checkRoles() []error {
	var errs []error
	broker, ctl := b.HasRole("broker"), b.HasRole("controller")
	roles := strings.Join(b.ProcessRoles, ",")
	voters := strings.Join(b.ControllerQuorumVoters, ",")
	inVoters := false
	for _, e := range b.ControllerQuorumVoters {
		if id, _, _ := strings.Cut(strings.TrimSpace(e), "@"); strings.TrimSpace(id) == strconv.Itoa(int(b.NodeID)) {
			inVoters = true
		}
	}
	if len(b.ControllerQuorumBootstrapServers) > 0 && len(b.ControllerQuorumVoters) == 0 {
		// Without this a node meant for a cluster would start alone.
		return append(errs, &Error{Key: "controller.quorum.bootstrap.servers", Value: strings.Join(b.ControllerQuorumBootstrapServers, ","), Msg: "dynamic quorums (KIP-853) are not supported: list every controller in controller.quorum.voters as id@host:port instead"})
	}
	if broker && ctl {
		if len(b.ControllerQuorumVoters) > 0 && !inVoters {
			errs = append(errs, &Error{Key: "controller.quorum.voters", Value: voters, Msg: fmt.Sprintf(
				"node.id %d is not in controller.quorum.voters (%s); a controller must be one of the voters", b.NodeID, voters)})
		}
		return errs
	}
	if len(b.ControllerQuorumVoters) == 0 {
		return append(errs, &Error{Key: "process.roles", Value: roles, Msg: fmt.Sprintf(
			"process.roles=%s needs controller.quorum.voters: only a node with both roles (broker,controller) can run alone", roles)})
	}
	ctlNames := strings.Join(b.ControllerListenerNames, ",")
	if broker {
		if inVoters {
			errs = append(errs, &Error{Key: "controller.quorum.voters", Value: voters, Msg: fmt.Sprintf(
				"node.id %d is in controller.quorum.voters (%s), but process.roles=broker: a broker-only node is no voter; give it a node.id of its own or add the controller role", b.NodeID, voters)})
		}
		for _, l := range b.Listeners {
			if contains(b.ControllerListenerNames, l.Name) {
				errs = append(errs, &Error{Key: "listeners", Value: *b.value("listeners"), Msg: fmt.Sprintf(
					"listeners has %s, a controller listener (controller.listener.names=%s), but process.roles=broker runs no controller; remove it from listeners", l.Name, ctlNames)})
			}
		}
		return errs
	}
	// Controller only.
	if !inVoters {
		errs = append(errs, &Error{Key: "controller.quorum.voters", Value: voters, Msg: fmt.Sprintf(
			"node.id %d is not in controller.quorum.voters (%s); a controller must be one of the voters", b.NodeID, voters)})
	}
	for _, l := range b.Listeners {
		if !contains(b.ControllerListenerNames, l.Name) {
			errs = append(errs, &Error{Key: "listeners", Value: *b.value("listeners"), Msg: fmt.Sprintf(
				"listeners has %s, which is not a controller listener (controller.listener.names=%s), but process.roles=controller serves no Kafka clients; list only controller listeners", l.Name, ctlNames)})
		}
	}
	if a, ok := b.set["advertised.listeners"]; ok {
		for _, l := range b.AdvertisedListeners {
			if !contains(b.ControllerListenerNames, l.Name) {
				errs = append(errs, &Error{Key: "advertised.listeners", Value: a, Msg: fmt.Sprintf(
					"advertised.listeners has %s, which is not a controller listener (controller.listener.names=%s), but process.roles=controller serves no Kafka clients", l.Name, ctlNames)})
			}
		}
	}
	for _, key := range []string{"schema.registry.listeners", "rest.proxy.listeners"} {
		if v, ok := b.set[key]; ok && strings.TrimSpace(v) != "" {
			errs = append(errs, &Error{Key: key, Value: v, Msg: fmt.Sprintf(
				"%s is set, but process.roles=controller runs no broker for it to use; run it on a broker node", key)})
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasListener(ls []Listener, name string) bool {
	for _, l := range ls {
		if l.Name == name {
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseProtocolMap(s string) (map[string]string, string) {
	m := map[string]string{}
	for _, p := range splitList(s) {
		name, proto, ok := strings.Cut(p, ":")
		name, proto = strings.TrimSpace(name), strings.TrimSpace(proto)
		if !ok || name == "" {
			return nil, fmt.Sprintf("%q is not NAME:PROTOCOL", p)
		}
		if securityProtocols(proto) != "" {
			return nil, fmt.Sprintf("%q: protocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", p)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Sprintf("listener %s is mapped twice", name)
		}
		m[name] = proto
	}
	return m, ""
}

// ParseListener parses one NAME://host:port entry. An empty host means all
// interfaces; IPv6 hosts are written in brackets.
func ParseListener(s string) (Listener, error) {
	name, addr, ok := strings.Cut(strings.TrimSpace(s), "://")
	if !ok || name == "" {
		return Listener{}, fmt.Errorf("%q is not NAME://host:port", s)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Listener{}, fmt.Errorf("%q is not NAME://host:port", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return Listener{}, fmt.Errorf("%q: port must be between 0 and 65535", s)
	}
	return Listener{Name: strings.ToUpper(name), Host: host, Port: n}, nil
}

func parseListeners(s string, protoMap map[string]string) ([]Listener, string) {
	var out []Listener
	seen := map[string]bool{}
	for _, p := range splitList(s) {
		l, err := ParseListener(p)
		if err != nil {
			return out, err.Error()
		}
		if seen[l.Name] {
			return out, fmt.Sprintf("listener name %s is used twice", l.Name)
		}
		seen[l.Name] = true
		if _, ok := protoMap[l.Name]; !ok {
			return out, fmt.Sprintf("listener %s has no entry in listener.security.protocol.map", l.Name)
		}
		out = append(out, l)
	}
	return out, ""
}

// quorumVoters checks controller.quorum.voters entries: id@host:port.
func quorumVoters(v any) string {
	for _, e := range v.([]string) {
		id, addr, ok := strings.Cut(e, "@")
		if _, err := strconv.ParseInt(id, 10, 32); !ok || err != nil || hostPort(addr) != "" {
			return fmt.Sprintf("%q is not id@host:port", e)
		}
	}
	return ""
}

// hostPorts checks a list of host:port entries.
func hostPorts(v any) string {
	for _, e := range v.([]string) {
		if r := hostPort(e); r != "" {
			return fmt.Sprintf("%q is not host:port", e)
		}
	}
	return ""
}

func hostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "bad"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "bad"
	}
	return ""
}

// Get returns the effective value of a broker key in Kafka's canonical form,
// including password values. ok is false for unknown keys and for keys whose
// value is null (not set and without a default).
func (b *Broker) Get(key string) (value string, ok bool) {
	if s := b.values[key]; s != nil {
		return *s, true
	}
	if _, _, isListener := splitListenerKey(key); isListener {
		v, ok := b.set[key]
		return v, ok
	}
	return "", false
}

// Redacted returns the explicit settings with the values of password keys
// replaced by "[hidden]", for logging.
func (b *Broker) Redacted() map[string]string {
	out := make(map[string]string, len(b.set))
	for k, v := range b.set {
		if brokerKeyType(k) == TypePassword {
			v = "[hidden]"
		}
		out[k] = v
	}
	return out
}

// Ignored returns, sorted, the keys that were set explicitly but that samsa
// does not act on yet. The server logs them once at start up.
func (b *Broker) Ignored() []string {
	var out []string
	for k := range b.set {
		if !fieldKeys[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// brokerKeyType is the type of a broker key, also for listener-prefixed keys.
func brokerKeyType(key string) Type {
	if k := brokerIndex[key]; k != nil {
		return k.Type
	}
	if base, _, ok := splitListenerKey(key); ok {
		return brokerIndex[base].Type
	}
	return TypeUnknown
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

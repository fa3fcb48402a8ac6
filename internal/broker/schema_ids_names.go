package broker

// Record names for the record subject name strategies of broker-side schema
// validation. Confluent's RecordNameStrategy names the subject after the
// schema's name (ParsedSchema.name() in confluentinc/schema-registry):
//
//   - Avro: the full name of a record schema (namespace.name); any other
//     Avro schema (a primitive, enum, array, union...) has none, and the
//     serializer refuses it under a record strategy.
//   - JSON Schema: the top-level "title"; none without one.
//   - Protobuf: the full name (package.Outer.Inner) of the message the
//     serializer wrote, which the record's message indexes name: the
//     serializer registers the whole file under the name of the message it
//     serializes, and writes that message's indexes after the schema id.
//
// Names are worked out on first use from the schema text the broker keeps
// for each id (only topics with a record strategy need them) and cached
// until the id goes.

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile/parser"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// subjectStrategy is a topic's confluent.{key,value}.subject.name.strategy.
type subjectStrategy uint8

const (
	topicNameStrategy subjectStrategy = iota
	recordNameStrategy
	topicRecordNameStrategy
)

// parseSubjectStrategy reads a strategy's class name; the config layer
// accepts only the three, so anything else is the default.
func parseSubjectStrategy(class string) subjectStrategy {
	switch strings.TrimPrefix(class, "io.confluent.kafka.serializers.subject.") {
	case "RecordNameStrategy":
		return recordNameStrategy
	case "TopicRecordNameStrategy":
		return topicRecordNameStrategy
	}
	return topicNameStrategy
}

func (s subjectStrategy) String() string {
	switch s {
	case recordNameStrategy:
		return "RecordNameStrategy"
	case topicRecordNameStrategy:
		return "TopicRecordNameStrategy"
	}
	return "TopicNameStrategy"
}

// schemaText is the type and text of a registered schema, as in its
// _schemas record.
type schemaText struct {
	typ, text string
}

// schemaNames is what an id's schema says about record names: name for
// Avro and JSON Schema, file for Protobuf, or why there is none.
type schemaNames struct {
	name    string
	file    *descriptorpb.FileDescriptorProto
	problem string
}

func parseSchemaNames(st schemaText) *schemaNames {
	switch st.typ {
	case "", "AVRO":
		var v struct {
			Type      any    `json:"type"`
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		}
		if json.Unmarshal([]byte(st.text), &v) != nil || (v.Type != "record" && v.Type != "error") || v.Name == "" {
			return &schemaNames{problem: "an Avro schema that is not a record"}
		}
		if strings.Contains(v.Name, ".") || v.Namespace == "" {
			return &schemaNames{name: v.Name}
		}
		return &schemaNames{name: v.Namespace + "." + v.Name}
	case "JSON":
		var v struct {
			Title *string `json:"title"`
		}
		if json.Unmarshal([]byte(st.text), &v) != nil || v.Title == nil || *v.Title == "" {
			return &schemaNames{problem: "a JSON schema without a title"}
		}
		return &schemaNames{name: *v.Title}
	case "PROTOBUF":
		if fd := protoFileDescriptor(st.text); fd != nil {
			return &schemaNames{file: fd}
		}
		h := reporter.NewHandler(nil)
		ast, err := parser.Parse("schema.proto", strings.NewReader(st.text), h)
		if err == nil {
			var res parser.Result
			if res, err = parser.ResultFromAST(ast, false, h); err == nil {
				return &schemaNames{file: res.FileDescriptorProto()}
			}
		}
		return &schemaNames{problem: "a Protobuf schema that does not parse: " + oneLine(err.Error())}
	}
	return &schemaNames{problem: "a schema of unknown type " + st.typ}
}

// protoFileDescriptor reads a Protobuf schema registered as a base64
// serialized FileDescriptorProto, or returns nil.
func protoFileDescriptor(text string) *descriptorpb.FileDescriptorProto {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(b) == 0 {
		return nil
	}
	fd := &descriptorpb.FileDescriptorProto{}
	if proto.Unmarshal(b, fd) != nil {
		return nil
	}
	return fd
}

// recordName is the record's fully qualified name for its schema; payload
// is what follows the schema id (Protobuf: the message indexes first, and
// used is their length in bytes). The problem says why there is none.
func (n *schemaNames) recordName(payload []byte) (name string, used int, problem string) {
	if n.problem != "" {
		return "", 0, n.problem
	}
	if n.file == nil {
		return n.name, 0, ""
	}
	index, used, ok := protoMessageIndexes(payload)
	if !ok {
		return "", 0, "bad Protobuf message indexes after the schema id"
	}
	msgs := n.file.GetMessageType()
	name = n.file.GetPackage()
	for _, i := range index {
		if i < 0 || i >= int64(len(msgs)) {
			return "", 0, fmt.Sprintf("Protobuf message indexes %v name no message of the schema", index)
		}
		m := msgs[i]
		if name != "" {
			name += "."
		}
		name += m.GetName()
		msgs = m.GetNestedType()
	}
	return name, used, ""
}

// protoMessageIndexes decodes the message indexes of Confluent's Protobuf
// wire format: a zigzag varint count, then that many zigzag varint
// indexes; a count of 0 stands for [0], the first message. used is how
// many bytes they take.
func protoMessageIndexes(b []byte) (index []int64, used int, ok bool) {
	n, w := binary.Varint(b)
	if w <= 0 || n < 0 || n > 32 {
		return nil, 0, false
	}
	if n == 0 {
		return []int64{0}, w, true
	}
	used = w
	index = make([]int64, n)
	for i := range index {
		if index[i], w = binary.Varint(b[used:]); w <= 0 {
			return nil, 0, false
		}
		used += w
	}
	return index, used, true
}

// oneLine joins a multi-line message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

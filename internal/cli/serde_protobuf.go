package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Protobuf: the .proto is compiled with bufbuild/protocompile; produce
// reads each line in Protobuf's JSON mapping (protojson) into the message
// --value-message names, by default the first message of the file, and
// writes its binary encoding after the message indexes that lead to it (a
// single 0 for the first message; [1, 0] for the first nested message of
// the second); consume follows the indexes of each record to its message
// and prints it with protojson.

type protobufCodec struct {
	file  protoreflect.FileDescriptor
	msg   protoreflect.MessageDescriptor // what produce writes
	index []byte                         // msg's message indexes, encoded
}

const protoSchemaFile = "__schema__.proto"

func newProtobufCodec(text string, refs []schemaRef) (*protobufCodec, error) {
	srcs := map[string]string{protoSchemaFile: text}
	for _, r := range refs {
		srcs[r.name] = r.text
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
			src, ok := srcs[path]
			if !ok {
				return protocompile.SearchResult{}, fmt.Errorf("%s: no such file among the schema's references", path)
			}
			if fd := protoDescriptor(src); fd != nil {
				fd.Name = proto.String(path)
				return protocompile.SearchResult{Proto: fd}, nil
			}
			return protocompile.SearchResult{Source: strings.NewReader(src)}, nil
		})),
	}
	files, err := c.Compile(context.Background(), protoSchemaFile)
	if err != nil {
		return nil, fmt.Errorf("compile: %s", oneLine(err.Error()))
	}
	fd := files[0]
	if fd.Messages().Len() == 0 {
		return nil, fmt.Errorf("the schema defines no message")
	}
	return &protobufCodec{file: fd, msg: fd.Messages().Get(0), index: firstMessageIndex}, nil
}

// useMessage makes produce write the message called name: a full name
// (shop.Order.Line, a leading dot allowed) or, if it is the only message
// so called, a simple one (Line).
func (c *protobufCodec) useMessage(name string) error {
	name = strings.TrimPrefix(name, ".")
	type found struct {
		md    protoreflect.MessageDescriptor
		index []int
	}
	var all []string
	var byFull, bySimple []found
	var walk func(msgs protoreflect.MessageDescriptors, index []int)
	walk = func(msgs protoreflect.MessageDescriptors, index []int) {
		for i, md := range protoMessages(msgs) {
			idx := append(append([]int(nil), index...), i)
			all = append(all, string(md.FullName()))
			switch name {
			case string(md.FullName()):
				byFull = append(byFull, found{md, idx})
			case string(md.Name()):
				bySimple = append(bySimple, found{md, idx})
			}
			walk(md.Messages(), idx)
		}
	}
	walk(c.file.Messages(), nil)
	var f found
	switch {
	case len(byFull) == 1:
		f = byFull[0]
	case len(bySimple) == 1:
		f = bySimple[0]
	case len(bySimple) > 1:
		var names []string
		for _, b := range bySimple {
			names = append(names, string(b.md.FullName()))
		}
		return fmt.Errorf("more than one message is called %s (%s); give the full name", name, strings.Join(names, ", "))
	default:
		return fmt.Errorf("no such message in the schema (its messages: %s)", strings.Join(all, ", "))
	}
	b, _ := new(sr.ConfluentHeader).AppendEncode(nil, 0, f.index)
	c.msg, c.index = f.md, b[5:]
	return nil
}

func (c *protobufCodec) encode(doc []byte) ([]byte, error) {
	if _, err := parseJSON(doc); err != nil {
		return nil, err
	}
	m := dynamicpb.NewMessage(c.msg)
	if err := protojson.Unmarshal(doc, m); err != nil {
		return nil, fmt.Errorf("does not match message %s: %s", c.msg.FullName(), protoErr(err))
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("message %s: %s", c.msg.FullName(), protoErr(err))
	}
	return append(append([]byte(nil), c.index...), data...), nil
}

func (c *protobufCodec) decode(b []byte) ([]byte, error) {
	index, rest, err := new(sr.ConfluentHeader).DecodeIndex(b, 32)
	if err != nil {
		return nil, fmt.Errorf("bad message indexes after the schema id: %v", err)
	}
	md, err := c.message(index)
	if err != nil {
		return nil, err
	}
	m := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(rest, m); err != nil {
		return nil, fmt.Errorf("not valid Protobuf for message %s: %s", md.FullName(), protoErr(err))
	}
	out, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("message %s to JSON: %s", md.FullName(), protoErr(err))
	}
	// protojson varies its whitespace on purpose; print one stable form.
	var buf bytes.Buffer
	if err := json.Compact(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// protoMessages are the messages declared in a file or message: without
// the entry messages of map fields, which descriptors list among the nested
// messages but a .proto does not declare, and Confluent's message indexes
// do not count.
func protoMessages(msgs protoreflect.MessageDescriptors) []protoreflect.MessageDescriptor {
	out := make([]protoreflect.MessageDescriptor, 0, msgs.Len())
	for i := 0; i < msgs.Len(); i++ {
		if md := msgs.Get(i); !md.IsMapEntry() {
			out = append(out, md)
		}
	}
	return out
}

// message follows message indexes: the first into the file's top-level
// messages, each next one into the nested messages of the previous.
func (c *protobufCodec) message(index []int) (protoreflect.MessageDescriptor, error) {
	var md protoreflect.MessageDescriptor
	msgs := protoMessages(c.file.Messages())
	for _, i := range index {
		if i < 0 || i >= len(msgs) {
			return nil, fmt.Errorf("message index %v: no such message in the schema", index)
		}
		md = msgs[i]
		msgs = protoMessages(md.Messages())
	}
	if md == nil {
		return nil, fmt.Errorf("empty message index")
	}
	return md, nil
}

// protoErr drops the "proto: " prefix of protobuf-go's errors.
func protoErr(err error) string {
	return strings.TrimPrefix(oneLine(err.Error()), "proto: ")
}

// firstMessageIndex is message index [0] (the first message of the file)
// as franz-go's ConfluentHeader writes it after the schema id: Confluent's
// single 0.
var firstMessageIndex = func() []byte {
	b, _ := new(sr.ConfluentHeader).AppendEncode(nil, 0, []int{0})
	return b[5:]
}()

// protoDescriptor reads a schema registered as a base64 serialized
// FileDescriptorProto (what confluent-kafka-python's ProtobufSerializer
// registers) or returns nil if text is not one.
func protoDescriptor(text string) *descriptorpb.FileDescriptorProto {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(b) == 0 {
		return nil
	}
	fd := &descriptorpb.FileDescriptorProto{}
	if proto.Unmarshal(b, fd) != nil {
		return nil
	}
	// protoc leaves json_name out of the descriptors it embeds in
	// generated code; protocompile's linker wants protoc's default.
	var fill func(ms []*descriptorpb.DescriptorProto, fields []*descriptorpb.FieldDescriptorProto)
	fill = func(ms []*descriptorpb.DescriptorProto, fields []*descriptorpb.FieldDescriptorProto) {
		for _, f := range fields {
			if f.JsonName == nil {
				f.JsonName = proto.String(protoJSONName(f.GetName()))
			}
		}
		for _, m := range ms {
			fill(m.NestedType, append(m.Field, m.Extension...))
		}
	}
	fill(fd.MessageType, fd.Extension)
	return fd
}

// protoJSONName is protoc's default JSON name of a field: each underscore
// dropped and the letter after it upper-cased.
func protoJSONName(name string) string {
	var b strings.Builder
	up := false
	for _, c := range name {
		if c == '_' {
			up = true
			continue
		}
		if up && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b.WriteRune(c)
	}
	return b.String()
}

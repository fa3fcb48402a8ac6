package schemaregistry

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// protobufFormat parses .proto text with bufbuild/protocompile (references
// are the imported files, by their import path). The compatibility rules
// are ours, after the reference's documented list: messages must not
// disappear and a field number must keep a wire-compatible type and label.
type protobufFormat struct{}

const protoMain = "__subject__.proto"

func (protobufFormat) parse(text string, deps []dep, normalize bool) (any, string, error) {
	srcs := map[string]string{protoMain: text}
	for _, d := range deps {
		srcs[d.name] = d.text
	}
	compile := func(asDescriptor bool) (linker.Files, error) {
		c := protocompile.Compiler{
			Resolver: protocompile.WithStandardImports(protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
				src, ok := srcs[path]
				if !ok {
					return protocompile.SearchResult{}, fmt.Errorf("%s: file not found", path)
				}
				if asDescriptor || path != protoMain {
					if fd := descriptorText(src); fd != nil {
						fd.Name = gproto.String(path)
						return protocompile.SearchResult{Proto: fd}, nil
					}
				}
				return protocompile.SearchResult{Source: strings.NewReader(src)}, nil
			})),
		}
		return c.Compile(context.Background(), protoMain)
	}
	files, err := compile(false)
	if err != nil {
		// Like the reference, a schema that is not .proto text may be a
		// base64-encoded FileDescriptorProto, which is what
		// confluent-kafka-python's ProtobufSerializer registers.
		if descriptorText(text) == nil {
			return nil, "", err
		}
		if files, err = compile(true); err != nil {
			return nil, "", err
		}
	}
	// Stored as the text we print, whichever form was sent (protoprint.go).
	return files[0], printProto(files[0], files.AsResolver(), normalize), nil
}

// descriptorText decodes text as a base64 (standard encoding) serialized
// FileDescriptorProto, or returns nil if it is not one.
func descriptorText(text string) *descriptorpb.FileDescriptorProto {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(b) == 0 {
		return nil
	}
	fd := &descriptorpb.FileDescriptorProto{}
	if gproto.Unmarshal(b, fd) != nil {
		return nil
	}
	// Descriptors embedded in generated code (protoc's) have no json_name;
	// protocompile's linker wants the default one filled in, as protoc does
	// for its plugins.
	var fill func(ms []*descriptorpb.DescriptorProto, exts []*descriptorpb.FieldDescriptorProto)
	fill = func(ms []*descriptorpb.DescriptorProto, exts []*descriptorpb.FieldDescriptorProto) {
		for _, f := range exts {
			if f.JsonName == nil {
				f.JsonName = gproto.String(defaultJSONName(f.GetName()))
			}
		}
		for _, m := range ms {
			fill(m.NestedType, append(m.Field, m.Extension...))
		}
	}
	fill(fd.MessageType, fd.Extension)
	return fd
}

// defaultJSONName is protoc's JSON name of a field: underscores dropped and
// the letter after each one upper-cased.
func defaultJSONName(name string) string {
	var b strings.Builder
	up := false
	for _, c := range name {
		switch {
		case c == '_':
			up = true
			continue
		case up && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		up = false
		b.WriteRune(c)
	}
	return b.String()
}

func (protobufFormat) incompatible(reader, writer any) []string {
	r, w := reader.(protoreflect.FileDescriptor), writer.(protoreflect.FileDescriptor)
	var out []string
	add := func(kind, format string, a ...any) {
		out = append(out, fmt.Sprintf("{errorType:'%s', description:'%s'}", kind, fmt.Sprintf(format, a...)))
	}
	if r.Package() != w.Package() {
		add("PACKAGE_CHANGED", "package %s changed to %s", w.Package(), r.Package())
	}
	rm := map[protoreflect.FullName]protoreflect.MessageDescriptor{}
	eachMessage(r.Messages(), func(m protoreflect.MessageDescriptor) { rm[m.FullName()] = m })
	eachMessage(w.Messages(), func(wm protoreflect.MessageDescriptor) {
		m, ok := rm[wm.FullName()]
		if !ok {
			add("MESSAGE_REMOVED", "message %s removed", wm.FullName())
			return
		}
		wf := wm.Fields()
		for i := range wf.Len() {
			f := wf.Get(i)
			g := m.Fields().ByNumber(f.Number())
			if g == nil {
				if f.Cardinality() == protoreflect.Required {
					add("REQUIRED_FIELD_REMOVED", "required field %s (%d) removed", f.FullName(), f.Number())
				}
				continue
			}
			if k := protoKind(f); k != protoKind(g) {
				add("FIELD_KIND_CHANGED", "field %d of %s changed from %s to %s", f.Number(), wm.FullName(), k, protoKind(g))
			} else if (f.Message() != nil && f.Message().FullName() != g.Message().FullName()) ||
				(f.Enum() != nil && f.Enum().FullName() != g.Enum().FullName()) {
				add("FIELD_NAMED_TYPE_CHANGED", "field %d of %s changed type", f.Number(), wm.FullName())
			}
			if f.IsList() != g.IsList() || f.IsMap() != g.IsMap() {
				add("FIELD_LABEL_CHANGED", "field %d of %s changed between singular, repeated and map", f.Number(), wm.FullName())
			}
			if (f.ContainingOneof() == nil) != (g.ContainingOneof() == nil) && g.ContainingOneof() != nil && g.ContainingOneof().Fields().Len() > 1 {
				add("FIELD_MOVED_TO_ONEOF", "field %d of %s moved into a oneof with other fields", f.Number(), wm.FullName())
			}
		}
		rf := m.Fields()
		for i := range rf.Len() {
			if g := rf.Get(i); g.Cardinality() == protoreflect.Required && wf.ByNumber(g.Number()) == nil {
				add("REQUIRED_FIELD_ADDED", "required field %s (%d) added", g.FullName(), g.Number())
			}
		}
	})
	return out
}

// protoKind names a field's wire-compatible kind group: scalars that read
// each other's encoding share a group, as the protobuf language guide lists.
func protoKind(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.Int32Kind, protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Uint64Kind, protoreflect.BoolKind:
		return "varint"
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return "zigzag"
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return "fixed32"
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return "fixed64"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "bytes"
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "message"
	}
	return f.Kind().String()
}

func eachMessage(ms protoreflect.MessageDescriptors, fn func(protoreflect.MessageDescriptor)) {
	for i := range ms.Len() {
		m := ms.Get(i)
		if m.IsMapEntry() {
			continue
		}
		fn(m)
		eachMessage(m.Messages(), fn)
	}
}

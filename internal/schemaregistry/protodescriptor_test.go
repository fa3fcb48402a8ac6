package schemaregistry

import (
	"encoding/base64"
	"testing"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// descriptorSchema is a proto3 file with one message Order {field: type =
// 1; string other_field = 2}, as confluent-kafka-python's
// ProtobufSerializer registers it: the FileDescriptorProto serialized and
// base64-encoded. Like the descriptors protoc embeds in generated code it
// has no json_name.
func descriptorSchema(t *testing.T, typ descriptorpb.FieldDescriptorProto_Type) string {
	t.Helper()
	fd := &descriptorpb.FileDescriptorProto{
		Name:    gproto.String("order.proto"),
		Package: gproto.String("shop"),
		Syntax:  gproto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: gproto.String("Order"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name: gproto.String("field"), Number: gproto.Int32(1),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: typ.Enum(),
			}, {
				Name: gproto.String("other_field"), Number: gproto.Int32(2),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
			}},
		}},
	}
	b, err := gproto.Marshal(fd)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// TestProtobufDescriptor: a PROTOBUF schema may be a base64-encoded
// FileDescriptorProto instead of .proto text, as with the reference; it
// gets one id, is looked up and checked for compatibility like text, and a
// descriptor that does not link is refused with 42201.
func TestProtobufDescriptor(t *testing.T) {
	b := newBroker(t)
	reg := startRegistry(t, b.Addr)
	u := reg.URL
	v1 := descriptorSchema(t, descriptorpb.FieldDescriptorProto_TYPE_STRING)
	body := map[string]any{"schema": v1, "schemaType": "PROTOBUF"}
	st, m, raw := call(t, "POST", u+"/subjects/orders-value/versions", ctJSON, body)
	if st != 200 || m["id"] != 1.0 {
		t.Fatalf("register descriptor: %d %s", st, raw)
	}
	if st, m, raw := call(t, "POST", u+"/subjects/orders-value", ctJSON, body); st != 200 || m["id"] != 1.0 || m["version"] != 1.0 {
		t.Fatalf("lookup descriptor: %d %s", st, raw)
	}
	// Stored and served as .proto text, as the reference does; the same
	// schema sent as text is the same schema: same id, same version.
	const printed = "syntax = \"proto3\";\npackage shop;\n\nmessage Order {\n  string field = 1;\n  string other_field = 2;\n}\n"
	if st, _, raw := call(t, "GET", u+"/schemas/ids/1/schema", "", nil); st != 200 || string(raw) != printed {
		t.Fatalf("GET schema 1: %d %q", st, raw)
	}
	asText := map[string]any{"schema": "syntax = \"proto3\"; package shop;\n// same\nmessage Order { string field = 1; string other_field = 2; }", "schemaType": "PROTOBUF"}
	if st, m, raw := call(t, "POST", u+"/subjects/orders-value/versions", ctJSON, asText); st != 200 || m["id"] != 1.0 {
		t.Fatalf("register as text: %d %s", st, raw)
	}
	if st, m, raw := call(t, "POST", u+"/subjects/other-value/versions", ctJSON, asText); st != 200 || m["id"] != 1.0 {
		t.Fatalf("register as text in another subject: %d %s", st, raw)
	}
	if st, _, raw := call(t, "GET", u+"/subjects/orders-value/versions", "", nil); st != 200 || string(raw) != "[1]\n" {
		t.Fatalf("versions: %d %s", st, raw)
	}
	// The same message written as .proto text is compatible with it.
	text := "syntax = \"proto3\";\npackage shop;\nmessage Order { string field = 1; string other_field = 2; int64 n = 3; }"
	if st, m, raw := call(t, "POST", u+"/compatibility/subjects/orders-value/versions/latest", ctJSON,
		map[string]any{"schema": text, "schemaType": "PROTOBUF"}); st != 200 || m["is_compatible"] != true {
		t.Fatalf("text against descriptor: %d %s", st, raw)
	}
	// Field 1 turned from string (length-delimited) into int64 (varint).
	v2 := descriptorSchema(t, descriptorpb.FieldDescriptorProto_TYPE_INT64)
	if st, m, raw := call(t, "POST", u+"/compatibility/subjects/orders-value/versions/latest", ctJSON,
		map[string]any{"schema": v2, "schemaType": "PROTOBUF"}); st != 200 || m["is_compatible"] != false {
		t.Fatalf("incompatible descriptor: %d %s", st, raw)
	}
	if st, m, raw := call(t, "POST", u+"/subjects/orders-value/versions", ctJSON,
		map[string]any{"schema": v2, "schemaType": "PROTOBUF"}); st != 409 || m["error_code"] != 409.0 {
		t.Fatalf("register incompatible descriptor: %d %s", st, raw)
	}
	// A descriptor whose field names a message type that does not exist.
	bad := &descriptorpb.FileDescriptorProto{
		Name: gproto.String("bad.proto"), Syntax: gproto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: gproto.String("M"), Field: []*descriptorpb.FieldDescriptorProto{{
			Name: gproto.String("x"), Number: gproto.Int32(1), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: gproto.String(".nope.Missing"),
		}}}},
	}
	bb, _ := gproto.Marshal(bad)
	if st, m, raw := call(t, "POST", u+"/subjects/bad/versions", ctJSON,
		map[string]any{"schema": base64.StdEncoding.EncodeToString(bb), "schemaType": "PROTOBUF"}); st != 422 || m["error_code"] != 42201.0 {
		t.Fatalf("unlinkable descriptor: %d %s", st, raw)
	}
	if st, _, raw := call(t, "GET", u+"/subjects/bad/versions", "", nil); st != 404 {
		t.Fatalf("the refused descriptor was stored: %d %s", st, raw)
	}
}

package schemaregistry

import (
	"encoding/base64"
	"testing"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// protoSource uses most of what the printer handles: imports, file and
// custom options, nested types, maps, oneofs, proto3 optional, reserved
// ranges and names, enum value options, json_name, services.
const protoSource = `// a comment the registry drops
syntax = "proto3";
package shop.v1;
import "google/protobuf/descriptor.proto";
import "google/protobuf/timestamp.proto";
option java_package = "com.shop";
option go_package = "shop/v1";
extend google.protobuf.MessageOptions { string note = 50001; }
message Order {
  option (note) = "orders";
  reserved 9, 20 to 29;
  reserved "old";
  oneof payment { string card = 5; bytes token = 4; }
  int64 qty = 2;
  string id = 1 [json_name = "orderId"];
  map<string, Line> lines = 3;
  optional .google.protobuf.Timestamp at = 6 [deprecated = true];
  Status status = 7;
  message Line { string sku = 1; double price = 2; }
  enum Status { NEW = 0; PAID = 2 [deprecated = true]; SHIPPED = 1; }
}
service Orders { rpc Place (Order) returns (stream Order); }
`

const protoPrinted = `syntax = "proto3";
package shop.v1;

import "google/protobuf/descriptor.proto";
import "google/protobuf/timestamp.proto";

option java_package = "com.shop";
option go_package = "shop/v1";

message Order {
  reserved 9;
  reserved 20 to 29;
  reserved "old";

  option (shop.v1.note) = "orders";

  int64 qty = 2;
  string id = 1 [json_name = "orderId"];
  map<string, .shop.v1.Order.Line> lines = 3;
  optional .google.protobuf.Timestamp at = 6 [deprecated = true];
  .shop.v1.Order.Status status = 7;

  oneof payment {
    string card = 5;
    bytes token = 4;
  }

  message Line {
    string sku = 1;
    double price = 2;
  }
  enum Status {
    NEW = 0;
    PAID = 2 [deprecated = true];
    SHIPPED = 1;
  }
}

extend .google.protobuf.MessageOptions {
  string note = 50001;
}

service Orders {
  rpc Place (.shop.v1.Order) returns (stream .shop.v1.Order);
}
`

// Normalized: fields, oneof members and enum values by number, options
// by name; declaration order of messages is kept.
const protoNormalized = `syntax = "proto3";
package shop.v1;

import "google/protobuf/descriptor.proto";
import "google/protobuf/timestamp.proto";

option go_package = "shop/v1";
option java_package = "com.shop";

message Order {
  reserved 9;
  reserved 20 to 29;
  reserved "old";

  option (shop.v1.note) = "orders";

  string id = 1 [json_name = "orderId"];
  int64 qty = 2;
  map<string, .shop.v1.Order.Line> lines = 3;
  optional .google.protobuf.Timestamp at = 6 [deprecated = true];
  .shop.v1.Order.Status status = 7;

  oneof payment {
    bytes token = 4;
    string card = 5;
  }

  message Line {
    string sku = 1;
    double price = 2;
  }
  enum Status {
    NEW = 0;
    SHIPPED = 1;
    PAID = 2 [deprecated = true];
  }
}

extend .google.protobuf.MessageOptions {
  string note = 50001;
}

service Orders {
  rpc Place (.shop.v1.Order) returns (stream .shop.v1.Order);
}
`

// TestPrintProto: the stored text of a Protobuf schema is the same whether
// it was sent as .proto text or as a base64 FileDescriptorProto (custom
// options then arrive as unknown fields), printing it again changes
// nothing, and normalization sorts what the reference sorts.
func TestPrintProto(t *testing.T) {
	f := protobufFormat{}
	parsed, stored, err := f.parse(protoSource, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if stored != protoPrinted {
		t.Fatalf("printed:\n%s\nwant:\n%s", stored, protoPrinted)
	}
	if _, again, err := f.parse(stored, nil, false); err != nil || again != stored {
		t.Fatalf("printing the printed text again: %v\n%s", err, again)
	}
	// The descriptor, as a client would send it: serialized, with the
	// custom option as an unknown field of MessageOptions.
	fdp := protodesc.ToFileDescriptorProto(parsed.(protoreflect.FileDescriptor))
	b, err := gproto.Marshal(fdp)
	if err != nil {
		t.Fatal(err)
	}
	_, fromDescriptor, err := f.parse(base64.StdEncoding.EncodeToString(b), nil, false)
	if err != nil || fromDescriptor != protoPrinted {
		t.Fatalf("from the descriptor: %v\n%s", err, fromDescriptor)
	}
	for _, in := range []string{protoSource, protoPrinted, base64.StdEncoding.EncodeToString(b)} {
		if _, n, err := f.parse(in, nil, true); err != nil || n != protoNormalized {
			t.Fatalf("normalized: %v\n%s", err, n)
		}
	}
}

// TestPrintProto2: proto2 labels, defaults, groups and extension ranges;
// the normalized form leaves out the proto2 syntax line as the
// reference's does.
func TestPrintProto2(t *testing.T) {
	src := `syntax = "proto2";
message M {
  required string a = 1 [default = "x\"y"];
  optional int32 b = 2 [default = -3];
  repeated group G = 3 { optional string s = 1; }
  extensions 100 to max;
}
`
	want := `syntax = "proto2";

message M {
  required string a = 1 [default = "x\"y"];
  optional int32 b = 2 [default = -3];
  repeated group G = 3 {
    optional string s = 1;
  }

  extensions 100 to max;
}
`
	_, stored, err := protobufFormat{}.parse(src, nil, false)
	if err != nil || stored != want {
		t.Fatalf("%v\n%s", err, stored)
	}
	if _, again, err := (protobufFormat{}).parse(stored, nil, false); err != nil || again != want {
		t.Fatalf("again: %v\n%s", err, again)
	}
	_, n, err := protobufFormat{}.parse(src, nil, true)
	if err != nil || n != want[len("syntax = \"proto2\";\n"):] {
		t.Fatalf("normalized: %v\n%s", err, n)
	}
}

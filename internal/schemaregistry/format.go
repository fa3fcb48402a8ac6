package schemaregistry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// A format is one schema type: it parses schemas and tells why data written
// with one schema cannot be read with another.
type format interface {
	// parse checks text, whose references (already parsed, dependencies
	// first) are deps, and returns the parsed schema and the text to store:
	// the type's canonical form, normalized when normalize is set
	// (?normalize=true or the normalize config), as the reference does.
	parse(text string, deps []dep, normalize bool) (parsed any, stored string, err error)
	// incompatible lists why data written with writer cannot be read by
	// a consumer using reader; empty means compatible.
	incompatible(reader, writer any) []string
}

// dep is a referenced schema: the name it is referenced by and its text.
type dep struct {
	name string
	text string
}

var formats = map[string]format{
	"AVRO":     avroFormat{},
	"JSON":     jsonFormat{},
	"PROTOBUF": protobufFormat{},
}

// supportedTypes lists the types for /schemas/types.
func supportedTypes() []string {
	out := make([]string, 0, len(formats))
	for _, t := range []string{"JSON", "PROTOBUF", "AVRO"} {
		if _, ok := formats[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// jsonSyntax checks that text is JSON and returns it compacted; a syntax
// error names its line and column.
func jsonSyntax(text string) (string, error) {
	var raw json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			line, col := position(text, se.Offset)
			return "", fmt.Errorf("%v at line %d, column %d", se, line, col)
		}
		return "", err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// position turns a byte offset into a 1-based line and column.
func position(text string, off int64) (line, col int) {
	if off > int64(len(text)) {
		off = int64(len(text))
	}
	before := text[:off]
	line = strings.Count(before, "\n") + 1
	col = int(off) - strings.LastIndex(before, "\n")
	return line, col
}
